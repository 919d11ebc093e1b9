"""Deterministic JSON instances of JSON schemas: tool-call arguments and structured outputs.

The same schema always yields the same JSON, so tests can assert on it. The rules, in order:

* ``$ref`` (local ``#/...`` pointers, e.g. into ``$defs``) is followed; ``const``, then the
  first ``enum`` value, win over the type;
* ``anyOf`` / ``oneOf`` take the first branch that is not ``null``; ``allOf`` merges its objects;
* ``type`` (the first non-null one of a list): strings are ``"fake"`` (or an example of their
  ``format``, padded / cut to ``minLength`` / ``maxLength``), numbers and integers ``1`` moved
  into their bounds, booleans ``true``, arrays one item (at least ``minItems``, at most
  ``maxItems``; ``prefixItems`` one each), objects every listed property;
* a recursive schema is unrolled once: inside a ``$ref`` already being expanded, nullable values
  are ``null``, arrays have ``minItems`` items and objects only their required properties.

``pattern`` and ``multipleOf`` are not honoured.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "duration": "P1D",
    "email": "fake@example.com",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 100  # nesting levels (counting $ref and anyOf hops) before giving up


class SchemaError(ValueError):
    """The schema cannot be instantiated (a dangling ``$ref``, or no finite instance)."""


def instance_json(schema: object) -> str:
    """Compact JSON text of the deterministic instance of ``schema``."""
    return json.dumps(_Builder(schema).value(schema, minimal=False, depth=0), separators=(",", ":"))


class _Builder:
    def __init__(self, root: object) -> None:
        self.root = root
        self.expanding: list[str] = []  # the $refs being expanded, to spot recursion

    def value(self, spec: object, *, minimal: bool, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise SchemaError("the schema has no finite instance (or nests too deeply)")
        if not isinstance(spec, Mapping):
            return None  # `true` / `false` schemas and junk: null is as good as anything
        depth += 1
        ref = spec.get("$ref")
        if isinstance(ref, str):
            minimal = minimal or ref in self.expanding
            self.expanding.append(ref)
            try:
                return self.value(self._resolve(ref), minimal=minimal, depth=depth)
            finally:
                self.expanding.pop()
        if "const" in spec:
            return spec["const"]
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            return spec["enum"][0]
        for key in ("anyOf", "oneOf"):
            if isinstance(spec.get(key), list) and spec[key]:
                return self.value(_pick(spec[key], minimal), minimal=minimal, depth=depth)
        if isinstance(spec.get("allOf"), list) and spec["allOf"]:
            parts = [self.value(part, minimal=minimal, depth=depth) for part in spec["allOf"]]
            if all(isinstance(part, dict) for part in parts):
                return {k: v for part in parts for k, v in part.items()}
            return parts[0]
        kind = _type_of(spec, minimal)
        if kind == "object":
            return self._object(spec, minimal, depth)
        if kind == "array":
            return self._array(spec, minimal, depth)
        if kind == "string":
            return _string(spec)
        if kind in ("integer", "number"):
            return _number(spec, integer=kind == "integer")
        return True if kind == "boolean" else None

    def _object(self, spec: Mapping[str, Any], minimal: bool, depth: int) -> dict[str, Any]:
        properties = spec.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        required = spec.get("required")
        names = [name for name in properties if not minimal or (isinstance(required, list) and name in required)]
        return {name: self.value(properties[name], minimal=minimal, depth=depth) for name in names}

    def _array(self, spec: Mapping[str, Any], minimal: bool, depth: int) -> list[Any]:
        prefix = spec.get("prefixItems", spec.get("items"))
        if isinstance(prefix, list):  # a tuple: one value per position
            return [self.value(item, minimal=minimal, depth=depth) for item in prefix]
        low, high = spec.get("minItems"), spec.get("maxItems")
        low = low if isinstance(low, int) else 0
        count = low if minimal else max(low, 1)
        if isinstance(high, int):
            count = min(count, high)
        return [self.value(spec.get("items"), minimal=minimal, depth=depth) for _ in range(count)]

    def _resolve(self, ref: str) -> object:
        if not ref.startswith("#"):
            raise SchemaError(f"only local references are supported, got {ref!r}")
        node: object = self.root
        for token in filter(None, ref[1:].split("/")):
            key = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise SchemaError(f"reference {ref!r} does not resolve")
        return node


def _is_null(spec: object) -> bool:
    return isinstance(spec, Mapping) and spec.get("type") == "null"


def _pick(branches: list[Any], minimal: bool) -> object:
    # Minimal mode prefers null: it is what ends a recursion such as `next: Node | None`.
    nulls = [b for b in branches if _is_null(b)]
    others = [b for b in branches if not _is_null(b)]
    return (nulls if minimal and nulls else others or nulls)[0]


def _type_of(spec: Mapping[str, Any], minimal: bool) -> str | None:
    kind = spec.get("type")
    if isinstance(kind, list):  # e.g. ["string", "null"]
        return "null" if minimal and "null" in kind else next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        return kind
    if "properties" in spec or "additionalProperties" in spec:
        return "object"
    return "array" if "items" in spec or "prefixItems" in spec else None


def _string(spec: Mapping[str, Any]) -> str:
    text = _FORMATS.get(str(spec.get("format")), "fake")
    low, high = spec.get("minLength"), spec.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = (text * low)[:low]
    return text[:high] if isinstance(high, int) else text


def _number(spec: Mapping[str, Any], *, integer: bool) -> int | float:
    """1 if the bounds allow it, else the first bound-derived value that fits."""
    low, low_open = _edge(spec, "minimum", "exclusiveMinimum", lower=True)
    high, high_open = _edge(spec, "maximum", "exclusiveMaximum", lower=False)

    def fits(x: float) -> bool:
        above = low is None or x > low or (x == low and not low_open)
        below = high is None or x < high or (x == high and not high_open)
        return above and below and (not integer or float(x).is_integer())

    candidates: list[float] = [1]
    if low is not None:
        candidates += [math.ceil(low), math.floor(low) + 1] if integer else [low, low + 1]
    if high is not None:
        candidates += [math.floor(high), math.ceil(high) - 1] if integer else [high, high - 1]
    if low is not None and high is not None:
        candidates.append((low + high) / 2)
    value = next((c for c in candidates if fits(c)), candidates[-1])
    return int(value) if integer else value


def _edge(spec: Mapping[str, Any], inclusive: str, exclusive: str, *, lower: bool) -> tuple[float | None, bool]:
    """The tighter of an inclusive and an exclusive bound, and whether it is exclusive."""
    edges = [(spec[key], key == exclusive) for key in (inclusive, exclusive) if _is_number(spec.get(key))]
    if not edges:
        return None, False
    sign = 1 if lower else -1
    return max(edges, key=lambda edge: (sign * edge[0], edge[1]))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
