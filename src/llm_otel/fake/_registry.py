"""The wire formats a `FakeProvider` serves unless told otherwise.

Adding a provider = writing its ``_<provider>.py`` module and listing it here.
"""

from __future__ import annotations

from ._anthropic import ANTHROPIC
from ._bedrock import BEDROCK
from ._cohere import COHERE
from ._gemini import GEMINI
from ._mistral import MISTRAL
from ._ollama import OLLAMA
from ._openai import OPENAI
from ._wire import WireFormat


def builtin_wire_formats() -> tuple[WireFormat, ...]:
    """Every built-in wire format; their routes must not overlap."""
    return (OPENAI, ANTHROPIC, OLLAMA, MISTRAL, COHERE, BEDROCK, GEMINI)
