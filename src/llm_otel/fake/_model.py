"""The fake "model": deterministic token counts, replies, tool calls and embeddings.

Provider-neutral, so every wire format reports the same numbers for the same request:

* a token is a whitespace-separated word; token-id arrays count one token per id;
* the reply to a request is a fixed sentence of ``Behavior.output_tokens`` words, streamed
  one word per chunk; a max-tokens limit below that cuts the reply (finish reason "length");
* a tool call's arguments and a structured output's JSON are built from the schema (see
  `_schema`) and streamed in fragments (runs of word / non-word characters), one token per
  fragment; a max-tokens limit cuts that JSON, leaving it truncated;
* JSON mode without a schema answers ``{"text": <the sentence>}``, one token per word as in
  plain text (the JSON punctuation rides on the first and last word);
* so in every case usage = the number of streamed content / argument chunks, and structured
  replies are the same for every choice of an ``n`` > 1 request;
* output tokens = visible tokens + ``Behavior.reasoning_tokens``; cached tokens are capped
  at the input tokens so that the usage stays self-consistent.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._behavior import Behavior
from ._schema import instance_json

_VOCABULARY = (
    "this", "is", "a", "deterministic", "reply", "from", "the", "fake", "provider", "with",
    "one", "token", "per", "word", "so", "usage", "numbers", "are", "easy", "to", "check",
)  # fmt: skip
_FRAGMENT = re.compile(r"\w+|\W+")
_ALPHANUM = string.ascii_letters + string.digits


def count_words(texts: Iterable[str]) -> int:
    """Number of whitespace-separated words across ``texts``."""
    return sum(len(text.split()) for text in texts)


def reply_words(count: int, variant: int = 0) -> list[str]:
    """``count`` words of the deterministic reply, as stream deltas (later words lead with a space).

    ``variant`` shifts the sentence so that the choices of an ``n`` > 1 request differ.
    """
    words = [_VOCABULARY[(i + variant) % len(_VOCABULARY)] for i in range(count)]
    if words:
        words[0] = words[0].capitalize()
        words[-1] += "."
    return [word if i == 0 else " " + word for i, word in enumerate(words)]


def tool_arguments(schema: object) -> str:
    """JSON arguments for a tool with parameter ``schema`` (always an object; see `_schema`)."""
    text = instance_json(schema)
    return text if text.startswith("{") else "{}"


def json_mode_pieces(behavior: Behavior) -> tuple[str, ...]:
    """JSON mode without a schema: ``{"text": <the sentence>}``, one piece per word of the
    sentence (the wrapper rides on the first and last), so the usage is that of plain text."""
    pieces = reply_words(behavior.output_tokens) or [""]  # plain words: nothing to escape
    pieces[0] = '{"text":"' + pieces[0]
    pieces[-1] += '"}'
    return tuple(pieces)


def fragments(text: str) -> tuple[str, ...]:
    """JSON text as stream pieces of one token each: runs of word / non-word characters."""
    return tuple(_FRAGMENT.findall(text))


@dataclass(frozen=True)
class ToolCall:
    """A call the fake model makes to a tool named in the request."""

    name: str
    arguments: str
    call_id: str


@dataclass(frozen=True)
class Draft:
    """What the fake model generates for one choice: pieces of one token each."""

    pieces: tuple[str, ...]
    cut: bool
    """True when the max-tokens limit stopped the reply early."""
    tool: ToolCall | None = None

    @property
    def text(self) -> str:
        """The visible text (for a tool call: its arguments)."""
        return "".join(self.pieces)

    @property
    def tokens(self) -> int:
        """Visible output tokens."""
        return len(self.pieces)


def draft(
    behavior: Behavior,
    *,
    limit: int | None = None,
    variant: int = 0,
    tool_name: str | None = None,
    arguments: str = "{}",
    structured: tuple[str, ...] | None = None,
) -> Draft:
    """Generate one choice: a call to ``tool_name`` with ``arguments`` (never cut), else the
    ``structured`` JSON pieces or the deterministic sentence, cut at ``limit`` tokens (cut
    JSON is left truncated, as a real model's would be)."""
    if tool_name is not None:
        call = ToolCall(name=tool_name, arguments=arguments, call_id="call_" + random_id(24))
        return Draft(pieces=fragments(arguments), cut=False, tool=call)
    if structured is not None:
        return Draft(pieces=structured[:limit], cut=limit is not None and limit < len(structured))
    count = behavior.output_tokens if limit is None else min(limit, behavior.output_tokens)
    return Draft(pieces=tuple(reply_words(count, variant)), cut=count < behavior.output_tokens)


@dataclass(frozen=True)
class Usage:
    """Token usage of a whole request, provider-neutral."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def usage(behavior: Behavior, input_tokens: int, drafts: Sequence[Draft]) -> Usage:
    """Usage for ``drafts`` answering a request of ``input_tokens`` tokens."""
    visible = sum(d.tokens for d in drafts)
    return Usage(
        input_tokens=input_tokens,
        output_tokens=visible + behavior.reasoning_tokens,
        cached_tokens=min(behavior.cached_tokens, input_tokens),
        reasoning_tokens=behavior.reasoning_tokens,
    )


def random_id(length: int) -> str:
    """A random alphanumeric id suffix (ids only need to be unique, not reproducible)."""
    return "".join(secrets.choice(_ALPHANUM) for _ in range(length))


def embedding_vector(key: str, dimensions: int) -> list[float]:
    """A unit-length vector derived from ``key``, with float32-exact components.

    float32-exact values make the ``float`` and ``base64`` (little-endian float32) encodings
    decode to identical numbers.
    """
    raw = b""
    block = 0
    while len(raw) < 4 * dimensions:
        raw += hashlib.sha256(f"{block}:{key}".encode()).digest()
        block += 1
    ints = struct.unpack(f"<{dimensions}I", raw[: 4 * dimensions])
    values = [i / 0xFFFFFFFF * 2.0 - 1.0 for i in ints]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [_to_float32(v / norm) for v in values]


def _to_float32(value: float) -> float:
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


def pack_float32(values: Sequence[float]) -> bytes:
    """Little-endian float32 bytes, the layout of OpenAI's base64 embeddings."""
    return struct.pack(f"<{len(values)}f", *values)


def texts_of(content: Any) -> list[str]:
    """Strings of a message ``content``: the string itself, or the ``text`` of each content part."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [part["text"] for part in content if isinstance(part, Mapping) and isinstance(part.get("text"), str)]
    return []
