"""danggol (단골): customer segmentation for online shops.

>>> import danggol
>>> sorted(danggol.TABLES)
['customers', 'events', 'order_items', 'orders']
"""

from __future__ import annotations

from danggol.config import WorkspaceConfig
from danggol.errors import (
    ConfigError,
    DanggolError,
    InputFileError,
    MappingError,
    StoreBusyError,
    WorkspaceError,
)
from danggol.ingest.load import IngestResult, ingest_files, ingest_tables
from danggol.profile import customer_profile
from danggol.schema import TABLES
from danggol.segments import build as segment
from danggol.store.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "TABLES",
    "ConfigError",
    "DanggolError",
    "IngestResult",
    "InputFileError",
    "MappingError",
    "StoreBusyError",
    "Workspace",
    "WorkspaceConfig",
    "WorkspaceError",
    "customer_profile",
    "ingest_files",
    "ingest_tables",
    "segment",
]
