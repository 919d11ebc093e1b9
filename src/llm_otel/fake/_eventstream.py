"""The AWS binary event stream (``application/vnd.amazon.eventstream``), as Bedrock streams answers.

Each message is a prelude (total length, headers length, the prelude's CRC32), headers (a one-byte
name length, the name, type 7 = string, a two-byte value length, the value), the payload and the
whole message's CRC32, every integer big-endian. An event is ``:message-type: event`` with its
``:event-type``; an error inside the stream is ``:message-type: exception`` with its
``:exception-type``, which botocore raises as an ``EventStreamError``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

_STRING = 7
_JSON = "application/json"


def message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return head + struct.pack(">I", zlib.crc32(head))


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING, len(raw_value)) + raw_value


def event(event_type: str, payload: bytes) -> bytes:
    """A named event, or, for a name ending in ``Exception``, the stream's error message."""
    if event_type.endswith("Exception"):
        kind = {":exception-type": event_type, ":message-type": "exception"}
    else:
        kind = {":event-type": event_type, ":message-type": "event"}
    return message({**kind, ":content-type": _JSON}, payload)
