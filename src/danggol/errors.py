"""danggol's errors: one root, each subclass also the matching builtin.

Every message says what was expected, what came, and what to do.
"""

from __future__ import annotations


class DanggolError(Exception):
    """Root of every error danggol raises on purpose."""


class ConfigError(DanggolError, ValueError):
    """A workspace setting or a command option is not valid."""


class WorkspaceError(DanggolError, FileNotFoundError):
    """The workspace folder is missing, not initialised, or cannot be written."""


class InputFileError(DanggolError, ValueError):
    """A whole input file cannot be read (wrong kind, encoding, missing columns)."""


class MappingError(DanggolError, ValueError):
    """A preset name or a --mapping YAML file is not valid."""


class StoreBusyError(DanggolError, RuntimeError):
    """Another process holds the workspace store for writing."""
