"""The YAML/JSON form of a segment tree.

Groups are one-key mappings and each leaf condition is its query text, so a segment file
reads like::

    where:
      all:
        - number_of_orders >= 1
        - any:
            - last_order_date < -5m
            - not: customer_tags CONTAINS 'vip'

``to_dict`` makes this form from a tree and ``from_dict`` reads it back:
``from_dict(to_dict(tree)) == tree`` for every tree whose groups have two or more children.
Errors carry the child-index path of the offending part (``1.0``), as ``nodes.conditions``
numbers them.
"""

from __future__ import annotations

from collections.abc import Callable

from danggol.errors import SegmentError
from danggol.segments.nodes import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    All,
    AnyOf,
    Compare,
    Matches,
    Node,
    Not,
    size,
)
from danggol.segments.parse import parse_query
from danggol.segments.printer import to_query

__all__ = ["check_size", "from_dict", "to_dict"]

_GROUP_KEYS = ("all", "any", "not")


def to_dict(node: Node) -> dict[str, object] | str:
    """The plain-data form of a tree: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": x}``
    for groups and the query text for a condition."""
    if isinstance(node, Compare | Matches) or (
        isinstance(node, Not) and isinstance(node.child, Matches)
    ):
        return to_query(node)  # a condition, NOT MATCHES included, is its query text
    if isinstance(node, Not):
        return {"not": to_dict(node.child)}
    if isinstance(node, All):
        return {"all": [to_dict(child) for child in node.children]}
    if isinstance(node, AnyOf):
        return {"any": [to_dict(child) for child in node.children]}
    raise SegmentError(f"not a segment node: {node!r}")


def from_dict(data: object, *, file: str | None = None) -> Node:
    """Read the plain-data form (from YAML or JSON) into a tree; errors are SegmentErrors,
    a tree deeper than ``MAX_DEPTH`` or with more than ``MAX_CONDITIONS`` leaves included."""
    tree = _Reader(file).node(data, "")
    check_size(tree, file=file)
    return tree


def check_size(tree: Node, *, file: str | None = None) -> None:
    """Refuse a tree above the documented limits (``nodes.MAX_DEPTH``, ``MAX_CONDITIONS``)."""
    depth, leaves = size(tree)
    if depth > MAX_DEPTH:
        raise SegmentError(
            f"segment nested too deeply ({depth} levels, at most {MAX_DEPTH})", file=file
        )
    if leaves > MAX_CONDITIONS:
        raise SegmentError(
            f"too many conditions ({leaves}): a segment holds at most {MAX_CONDITIONS}; for "
            "long lists of values use IN (…)",
            file=file,
        )


class _Reader:
    def __init__(self, file: str | None) -> None:
        self.file = file

    def fail(self, message: str, path: str) -> SegmentError:
        # the root has no path: '' would render as nothing anyway, None says so plainly
        return SegmentError(message, path=path or None, file=self.file)

    def node(self, data: object, path: str) -> Node:
        if path.count(".") >= MAX_DEPTH:
            raise self.fail(
                f"segment nested too deeply (more than {MAX_DEPTH} levels)", path[:40] + "…"
            )
        if isinstance(data, str):
            return self.leaf(data, path)
        if isinstance(data, dict):
            return self.group(data, path)
        raise self.fail(
            "expected a condition (query text such as 'number_of_orders >= 1') or a mapping "
            f"with one key all, any or not, got {_describe(data)}",
            path,
        )

    def leaf(self, text: str, path: str) -> Node:
        try:
            return parse_query(text, file=self.file)
        except SegmentError as error:
            # same message and caret, plus where in the tree the text sits
            raise SegmentError(
                error.message,
                query=error.query,
                position=error.position,
                path=path or None,
                file=self.file,
                suggestion=error.suggestion,
            ) from None

    def group(self, data: dict[object, object], path: str) -> Node:
        if len(data) != 1 or next(iter(data)) not in _GROUP_KEYS:
            raise self.fail(_bad_keys_message(data), path)
        key, value = next(iter(data.items()))
        if key == "not":
            return Not(self.node(value, _child(path, 0)))
        kind: Callable[[tuple[Node, ...]], Node] = All if key == "all" else AnyOf
        if not isinstance(value, list) or not value:
            raise self.fail(
                f"'{key}' needs a non-empty list of conditions, got {_describe(value)}", path
            )
        children = tuple(self.node(item, _child(path, i)) for i, item in enumerate(value))
        # a one-item list is just that item: the parser never makes one-child groups
        return children[0] if len(children) == 1 else kind(children)


def _child(path: str, index: int) -> str:
    return f"{path}.{index}" if path else str(index)


def _bad_keys_message(data: dict[object, object]) -> str:
    keys = ", ".join(repr(k) for k in data) or "none"
    message = f"a group needs exactly one key, all, any or not; got {keys}"
    if len(data) == 1:
        (key,) = data
        if isinstance(key, str) and key.strip().lower() in _GROUP_KEYS:
            message += f" (write '{key.strip().lower()}' in lower case)"
        elif isinstance(key, str):
            # `- products_purchased(id: 'A') = true` unquoted in YAML reads as a mapping
            message += (
                "; a condition containing ': ' must be quoted in YAML, e.g. "
                "- \"products_purchased(id: 'A') = true\""
            )
    return message


def _describe(data: object) -> str:
    if data is None:
        return "nothing (null)"
    if isinstance(data, list):
        return f"a list of {len(data)}"
    if isinstance(data, dict):
        return "a mapping"
    return f"{type(data).__name__} {data!r}"
