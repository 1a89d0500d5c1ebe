"""Reading the score tables (RFM segment map, grade rules) from YAML.

A key written twice in a mapping is an error here (PyYAML keeps the last one silently, which
would hide a duplicated grid row or grade).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from danggol.errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise ConfigError(f"line {line}: the key {key!r} is written twice; keep one")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_table(
    source: str | os.PathLike[str] | Mapping[str, Any], what: str
) -> tuple[dict[str, Any], str]:
    """(data, where) from a YAML file path or an already-parsed mapping.

    ``where`` names the source for error messages (the file, or ``what`` for a mapping).
    """
    if isinstance(source, Mapping):
        return dict(source), what
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}") from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the {what} is a YAML mapping; got {type(data).__name__}")
    return data, str(path)
