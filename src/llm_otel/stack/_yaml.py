"""A YAML writer for the plain trees the stack files are made of (dicts, lists, strings, numbers, booleans).

The package does not depend on a YAML library for the few files ``llm-otel dashboards`` writes; the
tests read every written file back with PyYAML and compare it with the tree it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

Node = Mapping[str, "Node"] | Sequence["Node"] | str | int | float | bool | None

# Strings that YAML reads back as the same string without quotes: no indicators, no bool/null/number lookalikes.
_PLAIN = re.compile(r"[A-Za-z_/][\w./-]*( [\w./()-]+)*")
# Multi-line text a literal block keeps as it is: no leading space (it would set the indentation), no
# trailing spaces or tabs, at most one final newline.
_BLOCK = re.compile(r"(?!\s)([^\n]*(?<![ \t])\n)+[^\n]*(?<![ \t])(?<!\n\n)", re.S)
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def dump(tree: Mapping[str, Node], header: str = "") -> str:
    """``tree`` as a YAML document, after ``header`` lines written as comments."""
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comments + "\n".join(_mapping(tree, 0)) + "\n"


def _scalar(value: str | float | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def _mapping(tree: Mapping[str, Node], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in tree.items():
        lines += _entry(f"{pad}{_scalar(key)}:", value, indent)
    return lines


def _entry(prefix: str, value: Node, indent: int) -> list[str]:
    """``prefix`` (``key:`` or ``-``) followed by ``value`` inline or as a nested block."""
    if isinstance(value, Mapping):
        return [f"{prefix} {{}}"] if not value else [prefix, *_mapping(value, indent + 2)]
    if isinstance(value, str) and _BLOCK.fullmatch(value):
        lines = value.removesuffix("\n").split("\n")
        body = [f"{' ' * (indent + 2)}{line}" if line else "" for line in lines]
        return [f"{prefix} {'|' if value.endswith(chr(10)) else '|-'}", *body]
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return [f"{prefix} []"]
        lines = [prefix]
        for item in value:
            lines += _item(item, indent + 2)
        return lines
    return [f"{prefix} {_scalar(value)}"]


def _item(value: Node, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping) and value:
        first, *rest = _mapping(value, indent + 2)
        return [f"{pad}- {first.lstrip()}", *rest]
    return _entry(f"{pad}-", value, indent)
