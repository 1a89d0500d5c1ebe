"""danggol (단골): customer segmentation for online shops.

>>> import danggol
>>> sorted(danggol.TABLES)
['customers', 'events', 'order_items', 'orders', 'products']
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load on first use
    __version__: str
    from danggol.config import WorkspaceConfig
    from danggol.errors import (
        BackendError,
        ConfigError,
        DanggolError,
        InputFileError,
        MappingError,
        StoreBusyError,
        WorkspaceError,
    )
    from danggol.ingest.load import IngestResult, ingest_files, ingest_tables
    from danggol.pipeline import refresh
    from danggol.profile import customer_profile
    from danggol.schema import TABLES
    from danggol.scores import RFM, Grades, Lifecycle, add_scores, scored_profile
    from danggol.segments import build as segment
    from danggol.store.workspace import Workspace

#: public name → (module, attribute; "" for the module itself). Imported on first use (PEP 562), so that ``import danggol``
#: (and every ``danggol`` command's start) does not pay for Ibis, DuckDB, SciPy and scikit-learn.
_LAZY: dict[str, tuple[str, str]] = {
    "RFM": ("danggol.scores", "RFM"),
    "TABLES": ("danggol.schema", "TABLES"),
    "BackendError": ("danggol.errors", "BackendError"),
    "ConfigError": ("danggol.errors", "ConfigError"),
    "DanggolError": ("danggol.errors", "DanggolError"),
    "Grades": ("danggol.scores", "Grades"),
    "IngestResult": ("danggol.ingest.load", "IngestResult"),
    "InputFileError": ("danggol.errors", "InputFileError"),
    "Lifecycle": ("danggol.scores", "Lifecycle"),
    "MappingError": ("danggol.errors", "MappingError"),
    "StoreBusyError": ("danggol.errors", "StoreBusyError"),
    "Workspace": ("danggol.store.workspace", "Workspace"),
    "WorkspaceConfig": ("danggol.config", "WorkspaceConfig"),
    "WorkspaceError": ("danggol.errors", "WorkspaceError"),
    "add_scores": ("danggol.scores", "add_scores"),
    "customer_profile": ("danggol.profile", "customer_profile"),
    "ingest_files": ("danggol.ingest.load", "ingest_files"),
    "ingest_tables": ("danggol.ingest.load", "ingest_tables"),
    "refresh": ("danggol.pipeline", "refresh"),
    "scored_profile": ("danggol.scores", "scored_profile"),
    "segment": ("danggol.segments.build", ""),  # the module: danggol.segment.count(...)
}


def _version() -> str:
    """The one version source: pyproject.toml, as installed (importlib.metadata costs ~20 ms
    of CPU to import, so only ``__version__`` pays it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("danggol")
    except PackageNotFoundError:  # a source tree run without installing (PYTHONPATH=src)
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'danggol' has no attribute {name!r}") from None
    found: object = getattr(import_module(module), attr) if attr else import_module(module)
    globals()[name] = found  # later look-ups skip this function
    return found


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "RFM",
    "TABLES",
    "BackendError",
    "ConfigError",
    "DanggolError",
    "Grades",
    "IngestResult",
    "InputFileError",
    "Lifecycle",
    "MappingError",
    "StoreBusyError",
    "Workspace",
    "WorkspaceConfig",
    "WorkspaceError",
    "add_scores",
    "customer_profile",
    "ingest_files",
    "ingest_tables",
    "refresh",
    "scored_profile",
    "segment",
]
