"""danggol (단골): customer segmentation for online shops.

>>> import danggol
>>> sorted(danggol.TABLES)
['customers', 'events', 'order_items', 'orders']
"""

from __future__ import annotations

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

__version__ = "0.1.0"

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
