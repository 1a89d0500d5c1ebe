"""The REST API and the dashboard (``danggol serve``): FastAPI routes that parse the request,
call one library function and format its result; pages and assets ship in ``static/``."""

from __future__ import annotations

from danggol.web.app import create_app

__all__ = ["create_app"]
