"""danggol (단골): customer segmentation for online shops.

>>> import danggol
>>> sorted(danggol.TABLES)
['customers', 'events', 'order_items', 'orders', 'products']
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:  # the one version source: pyproject.toml, as installed
    __version__ = version("danggol")
except PackageNotFoundError:  # a source tree run without installing (PYTHONPATH=src)
    __version__ = "0+unknown"

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load on first use
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


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'danggol' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr) if attr else import_module(module)
    globals()[name] = value  # later look-ups skip this function
    return value


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
