"""YAML loading that remembers where every mapping and key came from (for FILE:LINE messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A YAML mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]
    duplicate_keys: list[tuple[str, int]]
    raw_scalars: dict[str, str]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    mapping.duplicate_keys = []
    mapping.raw_scalars = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in mapping:
            mapping.duplicate_keys.append((key, key_node.start_mark.line + 1))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode) and not value_node.style:
            mapping.raw_scalars[key] = value_node.value  # as typed, e.g. 0741 (read as octal 481)
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class YamlSyntaxError(ValueError):
    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors become YamlSyntaxError with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(path, 1, f"not UTF-8 text ({exc.reason})") from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise YamlSyntaxError(path, line, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(path, 1, f"YAML error: {exc}") from None
