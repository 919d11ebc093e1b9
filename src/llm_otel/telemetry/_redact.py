"""Built-in redactors: every string of a call's content, patterns replaced by a fixed marker.

They are ordinary ``Redactor`` hooks (see ``_content``); pass them to ``set_content_capture``.
Patterns are deliberately broad: a false positive costs a word in a trace, a false negative a leak.
"""

from __future__ import annotations

import re
from typing import Any

from ._content import Content, Redactor

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or national numbers of 7+ digits, with the usual separators.
_PHONE = re.compile(r"(?<![\w])\+?\d(?:[\s().-]*\d){6,14}(?![\w])")
# Provider keys (sk-..., sk-ant-..., gsk_..., xai-..., AIza...), bearer tokens, and long opaque
# tokens mixing letters and digits.
_API_KEY = re.compile(
    r"\b(?:sk|pk|rk|gsk|xai|key|api|org|proj)[-_][A-Za-z0-9_-]{8,}"
    r"|\bAIza[A-Za-z0-9_-]{20,}"
    r"|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
)


def _walk(value: Any, pattern: re.Pattern[str], marker: str) -> Any:
    if isinstance(value, str):
        return pattern.sub(marker, value)
    if isinstance(value, list):
        return [_walk(item, pattern, marker) for item in value]
    if isinstance(value, dict):
        return {key: _walk(item, pattern, marker) for key, item in value.items()}
    return value


def pattern_redactor(pattern: str | re.Pattern[str], marker: str = "[REDACTED]") -> Redactor:
    """A redactor replacing every match of ``pattern`` in the content's strings with ``marker``.

    Example::

        llm_otel.set_content_capture("SPAN_ONLY", redactors=[llm_otel.pattern_redactor(r"ACME-\\d+")])
    """
    compiled = re.compile(pattern)

    def redact(content: Content) -> Content:
        return Content(
            _walk(content.input_messages, compiled, marker),
            _walk(content.output_messages, compiled, marker),
            _walk(content.system_instructions, compiled, marker),
            _walk(content.tool_definitions, compiled, marker),
        )

    return redact


redact_emails: Redactor = pattern_redactor(_EMAIL, "[EMAIL]")
redact_emails.__doc__ = "Replace e-mail addresses with ``[EMAIL]``."
redact_phone_numbers: Redactor = pattern_redactor(_PHONE, "[PHONE]")
redact_phone_numbers.__doc__ = "Replace phone numbers (7 to 15 digits, with separators) with ``[PHONE]``."
redact_api_keys: Redactor = pattern_redactor(_API_KEY, "[API_KEY]")
redact_api_keys.__doc__ = (
    "Replace API-key-like strings (``sk-...``, bearer tokens, long opaque tokens) with ``[API_KEY]``."
)
