"""``danggol serve``: the dashboard and the REST API of a workspace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from danggol.cli.main import app, err, state
from danggol.config import CONFIG_FILE, TOKEN_ENV_VAR, read_web_config, web_access
from danggol.store.workspace import resolve_path

HostOpt = Annotated[
    str, typer.Option(help="address to listen on (other than 127.0.0.1 needs a token)")
]
PortOpt = Annotated[int, typer.Option(help="port to listen on")]


def serve_workspace(path: Path, host: str, port: int) -> None:
    """Run the app of the workspace at ``path`` with uvicorn until Ctrl+C."""
    import uvicorn

    from danggol.web import create_app

    token, protect = web_access(
        host, read_web_config(path / CONFIG_FILE), os.environ.get(TOKEN_ENV_VAR)
    )
    from danggol.store.workspace import Workspace

    with Workspace.open(path) as ws:  # a missing, corrupt or unfinished store: said here, once
        if ws.backend.embedded_store:
            ws.ibis  # noqa: B018
    web = create_app(path, token, protect=protect, prewarm=True)  # type: ignore[arg-type]
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    err.print(f"danggol dashboard: {where}  (API docs: {where}docs) — Ctrl+C stops it")
    if token and protect == "all":
        err.print(
            f"open {where}?token=… once with the access token (from ${TOKEN_ENV_VAR} or danggol.toml)"
        )
    elif token:
        err.print("exports of name, email and phone need the access token")
    uvicorn.run(web, host=host, port=port, log_level="warning")


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8765) -> None:
    """Serve the dashboard and the REST API of the workspace (-w DIR)."""
    serve_workspace(resolve_path(state.workspace), host, port)
