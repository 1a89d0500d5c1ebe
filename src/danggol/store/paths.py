"""Which folder is the workspace: the one rule of the CLI and ``Workspace.open``, in a module
light enough for a command that needs the folder and not the engine (a count asked of a
running ``danggol serve``, cli/remote.py)."""

from __future__ import annotations

import os
from pathlib import Path

#: the environment variable naming the workspace folder
ENV_VAR = "DANGGOL_WORKSPACE"


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """The workspace folder: the given path, else $DANGGOL_WORKSPACE, else the current folder."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or ".")
