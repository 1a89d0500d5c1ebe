"""danggol's errors: one root, each subclass also the matching builtin.

Every message says what was expected, what came, and what to do.
"""

from __future__ import annotations


class DanggolError(Exception):
    """Root of every error danggol raises on purpose."""


class ConfigError(DanggolError, ValueError):
    """A workspace setting or a command option is not valid."""


class TooLittleDataError(ConfigError):
    """The shop's history is too short for a computation (a backtest): a fact about the data,
    not a mistake, said in English (the message) and in Korean (``ko``) for the dashboard and
    the report."""

    def __init__(self, message: str, *, ko: str) -> None:
        super().__init__(message)
        self.ko = ko


class WorkspaceError(DanggolError, FileNotFoundError):
    """The workspace folder is missing, not initialised, or cannot be written."""


class InputFileError(DanggolError, ValueError):
    """A whole input file cannot be read (wrong kind, encoding, missing columns)."""


class MappingError(DanggolError, ValueError):
    """A preset name or a --mapping YAML file is not valid."""


class StoreBusyError(DanggolError, RuntimeError):
    """Another process holds the workspace store for writing."""


class StoreCorruptError(WorkspaceError):
    """The store file is damaged (a checksum error, not a DuckDB file) or holds a write that a
    killed process left unfinished: ``danggol doctor`` and ``danggol restore`` say what to do."""


class BackendError(DanggolError, RuntimeError):
    """The workspace's engine cannot be reached, or cannot do what was asked (a read-only
    source asked to load or refresh)."""


class NotFoundError(DanggolError, LookupError):
    """A customer, segment, page or other named thing that does not exist."""


class SegmentError(DanggolError, ValueError):
    """A segment query or definition that cannot be parsed, typed or resolved.

    Carries where the problem is: the query text and the character position (shown with a
    caret under it), the node path in the tree (``0.1``) and the file it came from.
    """

    def __init__(
        self,
        message: str,
        *,
        query: str | None = None,
        position: int | None = None,
        path: str | None = None,
        file: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.message = message
        self.query = query
        self.position = position
        self.path = path
        self.file = file
        self.suggestion = suggestion
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.position is not None:
            where.append(f"position {self.position + 1}")
        if self.path:
            where.append(f"condition {self.path}")
        text = (f"{', '.join(where)}: " if where else "") + self.message
        if self.suggestion:
            text += f" — did you mean '{self.suggestion}'?"
        if self.query is not None and self.position is not None and "\n" not in self.query:
            text += f"\n  {self.query}\n  {' ' * self.position}^"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "position": self.position,
            "path": self.path,
            "file": self.file,
            "suggestion": self.suggestion,
        }


class UnknownSegmentError(SegmentError, LookupError):
    """A segment name that is neither saved nor built in (the API answers 404)."""


class UnknownCampaignError(ConfigError, LookupError):
    """A campaign name that was never created (the API answers 404)."""


class UnknownCustomerError(SegmentError, LookupError):
    """A customer id that is not in the profile as of the date asked (the API answers 404)."""


#: the HTTP header on an answer that is one of danggol's errors in :func:`error_info`'s shape
#: (set by the server's ``/api/cli/count``, read by cli/remote.py): the CLI raises such an
#: answer as its own error; any other failed answer makes it count in its own process
ERROR_HEADER = "X-Danggol-Error"


def error_info(exc: DanggolError) -> dict[str, object]:
    """One error as plain data, the shape the API answers with and ``--json`` prints:
    ``{"code", "message"}`` plus, for a query, ``position``, ``caret``, ``suggestion`` and
    ``path`` when known."""
    if isinstance(exc, SegmentError):
        caret = None
        if exc.query is not None and exc.position is not None and "\n" not in exc.query:
            caret = f"{exc.query}\n{' ' * exc.position}^"
        code = "not_found" if isinstance(exc, LookupError) else "bad_segment"
        extra = {
            "position": exc.position,
            "caret": caret,
            "suggestion": exc.suggestion,
            "path": exc.path,
            "file": exc.file,
        }
        return {
            "code": code,
            "message": exc.message,
            **{k: v for k, v in extra.items() if v is not None},
        }
    if isinstance(exc, LookupError):
        code = "not_found"
    elif isinstance(exc, StoreBusyError):
        code = "busy"
    elif isinstance(exc, WorkspaceError):
        code = "workspace_error"
    else:
        code = "bad_request"
    return {"code": code, "message": str(exc)}


#: the error a code of :func:`error_info` is rebuilt as (a query's errors: ``SegmentError``)
_CODES: dict[str, type[DanggolError]] = {
    "not_found": NotFoundError,
    "busy": StoreBusyError,
    "workspace_error": WorkspaceError,
    "bad_request": ConfigError,
}
_QUERY_KEYS = ("position", "caret", "suggestion", "path", "file")


def error_from_info(info: dict[str, object]) -> DanggolError | None:
    """The inverse of :func:`error_info`: an error that prints and serialises exactly as the one
    ``info`` was made from (``str`` and ``error_info`` equal), or None for a shape it did not
    make. The CLI raises it when a running server answered its command with an error.

    >>> e = SegmentError("unknown field 'x'", query="x > 1", position=0, suggestion="y")
    >>> str(error_from_info(error_info(e))) == str(e)
    True
    """
    code, message = info.get("code"), info.get("message")
    if not isinstance(code, str) or not isinstance(message, str):
        return None
    if code == "bad_segment" or (code == "not_found" and any(k in info for k in _QUERY_KEYS)):
        caret, position = info.get("caret"), info.get("position")
        kind = UnknownSegmentError if code == "not_found" else SegmentError
        return kind(
            message,
            # the caret line is the query (it never holds a line break) over a caret
            query=caret.split("\n", 1)[0] if isinstance(caret, str) else None,
            position=position if isinstance(position, int) else None,
            path=_text(info.get("path")),
            file=_text(info.get("file")),
            suggestion=_text(info.get("suggestion")),
        )
    rebuilt = _CODES.get(code)
    return None if rebuilt is None else rebuilt(message)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
