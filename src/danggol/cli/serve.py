"""``danggol serve``: the dashboard and the REST API of a workspace."""

from __future__ import annotations

import os
from pathlib import Path
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
        "(repeatable; also allowed_hosts in [web] of danggol.toml)",
    ),
]


def serve_workspace(
    path: Path, host: str, port: int, allowed_hosts: list[str] | None = None
) -> None:
    """Run the app of the workspace at ``path`` with uvicorn until Ctrl+C."""
    import uvicorn

    from danggol.config import CONFIG_FILE, TOKEN_ENV_VAR, read_web_config, web_access
    from danggol.store.workspace import Workspace
    from danggol.web import create_app
    from danggol.web.guards import WILDCARDS

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
            "host others use with --allowed-host NAME (or allowed_hosts in [web] of danggol.toml)"
        )
    uvicorn.run(web, host=host, port=port, log_level="warning")


@app.command()
def serve(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    allowed_host: AllowedHostOpt = None,
) -> None:
    """Serve the dashboard and the REST API of the workspace (-w DIR)."""
    serve_workspace(workspace_path(ctx), host, port, allowed_host)
