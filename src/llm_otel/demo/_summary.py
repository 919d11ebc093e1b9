"""The demo's closing table: the same snapshot /v1/stats serves, read back from the recorded metrics."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def render(stats: dict[str, Any]) -> str:
    """A plain-text table of a /v1/stats document: a line per provider and model, then errors by type."""
    header = ("provider", "model", "calls", "errors", "p50", "p95", "TTFC p50", "tokens in", "tokens out")
    lines = [header]
    errors: dict[str, int] = defaultdict(int)
    for entry in stats["calls"]:
        if not entry["requests"]:
            continue
        for kind, count in entry["errors"].items():
            errors[kind] += count
        ttfc = entry["ttfc_s"]
        lines.append(
            (
                entry["provider"],
                entry["model"],
                str(entry["requests"]),
                str(sum(entry["errors"].values())),
                _ms(entry["latency_s"]["p50"]),
                _ms(entry["latency_s"]["p95"]),
                _ms(ttfc["p50"]) if ttfc else "-",
                str(entry["tokens"].get("input", 0)),
                str(entry["tokens"].get("output", 0)),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * width for width in widths))
    if errors:
        text.append("")
        text.append("errors by error.type: " + ", ".join(f"{kind} {count}" for kind, count in sorted(errors.items())))
    return "\n".join(text)
