"""``danggol serve``: the dashboard and the REST API of a workspace."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from danggol.cli.options import err, workspace_path

#: top-level commands, merged into the root app by cli/main.py
app = typer.Typer()

HostOpt = Annotated[
    str, typer.Option(help="address to listen on (other than 127.0.0.1 needs a token)")
]
PortOpt = Annotated[int, typer.Option(help="port to listen on")]
AllowedHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        help="a host name the server answers to beside 127.0.0.1, localhost and --host "
        "(repeatable; also allowed_hosts in \\[web] of danggol.toml)",  # \\[: not Rich markup
    ),
]


def serve_workspace(
    path: Path, host: str, port: int, allowed_hosts: list[str] | None = None
) -> None:
    """Run the app of the workspace at ``path`` with uvicorn until Ctrl+C."""
    import uvicorn

    from danggol.cli import remote
    from danggol.config import CONFIG_FILE, TOKEN_ENV_VAR, read_web_config, web_access
    from danggol.store.workspace import Workspace
    from danggol.web import create_app
    from danggol.web.guards import WILDCARDS

    settings = remote.settings_stamp(path)  # before reading them: a later edit is seen as one
    config = read_web_config(path / CONFIG_FILE)
    token, protect = web_access(host, config, os.environ.get(TOKEN_ENV_VAR))
    extra = [*config.allowed_hosts, *(allowed_hosts or [])]
    with Workspace.open(path) as ws:  # a missing, corrupt or unfinished store: said here, once
        if ws.backend.embedded_store:
            ws.ibis  # noqa: B018
    web = create_app(
        path,
        token,
        protect=protect,  # type: ignore[arg-type]
        prewarm=True,
        host=host,
        extra_hosts=extra,
        max_body_bytes=config.max_body_bytes,
    )
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    err.print(f"danggol dashboard: {where}  (API docs: {where}docs) — Ctrl+C stops it")
    if token and protect == "all":
        err.print(
            f"open {where}?token=… once with the access token (from ${TOKEN_ENV_VAR} or danggol.toml)"
        )
    elif token:
        err.print("personal data (name, email, phone) and every change need the access token")
    if host in WILDCARDS and not extra:
        err.print(
            f"on {host} the server answers only to 127.0.0.1, localhost and [::1]: name the "
            "host others use with --allowed-host NAME (or allowed_hosts in \\[web] of danggol.toml)"
        )
    # the CLI's counts ask this server while it runs (cli/remote.py); only a server that
    # guards every call hands its token to them, in a file only this user can read
    try:
        remote.announce(path, host, port, token if protect == "all" else None, settings)
    except OSError as exc:  # a read-only workspace is served all the same
        err.print(f"[dim]not announced to the CLI ({exc}): its counts run in their own process[/]")
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _withdrawing(path)) if main else None
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning")
    finally:  # Ctrl+C, a failed start
        remote.withdraw(path)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _withdrawing(path: Path) -> Callable[[int, FrameType | None], None]:
    """A SIGTERM handler: withdraw the announcement, then die of the signal as before.
    uvicorn shuts the app down on SIGTERM, puts this handler back and raises the signal again,
    so it runs after a clean shutdown (and at once if SIGTERM comes before uvicorn starts)."""

    def handler(sig: int, frame: FrameType | None) -> None:
        from danggol.cli import remote

        remote.withdraw(path)
        signal.signal(sig, signal.SIG_DFL)
        signal.raise_signal(sig)

    return handler


@app.command()
def serve(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    allowed_host: AllowedHostOpt = None,
) -> None:
    """Serve the dashboard and the REST API of the workspace (-w DIR)."""
    serve_workspace(workspace_path(ctx), host, port, allowed_host)
