"""A segment definition: name, titles, goal, description, parameters, and its tree.

The same model reads the workspace's ``segments/*.yaml`` files (segments as code), the
built-in library (``library/*.yaml``) and what the API and CLI save. The condition is
either a one-line ``query`` or a ``where`` tree (see ``forms.py``); ``params`` fill
``{name}`` placeholders of the query with literals (text quoted, numbers as they are).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from danggol.choices import GOALS
from danggol.errors import SegmentError
from danggol.segments.nodes import Node

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: dict[str, str] = Field(default_factory=dict, description="{'ko': ..., 'en': ...}")
    description: dict[str, str] = Field(default_factory=dict)
    goal: str = "other"
    query: str | None = None
    where: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    #: parameter names a shop must set before the segment can run (e.g. product ids)
    required_params: list[str] = Field(default_factory=list)
    builtin: bool = False
    file: str | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):
            raise ValueError(
                f"a segment name is lower-case letters, digits and _, starting with a letter "
                f"(at most 63); got {value!r}"
            )
        return value

    @field_validator("goal")
    @classmethod
    def _goal(cls, value: str) -> str:
        if value not in GOALS:
            raise ValueError(f"unknown goal {value!r}; choose one of {', '.join(GOALS)}")
        return value

    @model_validator(mode="after")
    def _one_condition(self) -> Segment:
        if (self.query is None) == (self.where is None):
            raise ValueError("a segment needs exactly one of 'query' (text) or 'where' (tree)")
        return self

    def with_params(self, **params: Any) -> Segment:
        return self.model_copy(update={"params": {**self.params, **params}})

    def missing_params(self) -> list[str]:
        return [p for p in self.required_params if self.params.get(p) in (None, "")]

    def query_text(self) -> str | None:
        if self.query is None:
            return None
        missing = self.missing_params()
        if missing:
            raise SegmentError(
                f"segment '{self.name}' needs the parameter(s) {', '.join(missing)}: "
                f"set them with --param NAME=VALUE",
                file=self.file,
            )
        try:
            return self.query.format(**{k: _literal(v) for k, v in self.params.items()})
        except (KeyError, IndexError, ValueError) as exc:
            raise SegmentError(
                f"segment '{self.name}': the query uses a parameter that is not set ({exc})",
                file=self.file,
            ) from None

    def tree(self) -> Node:
        from danggol.segments.forms import from_dict
        from danggol.segments.parse import parse_query

        text = self.query_text()
        if text is not None:
            return parse_query(text, file=self.file)
        return from_dict(self.where, file=self.file)

    def label(self, lang: str = "ko") -> str:
        return self.title.get(lang) or self.title.get("en") or self.title.get("ko") or self.name
