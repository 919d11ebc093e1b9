"""A fake LLM provider server for the demo and the tests.

`FakeProvider` serves real HTTP on 127.0.0.1 and answers like the provider's API, with
deterministic token counts and injectable latency, errors, hangs, drops and malformed output::

    with FakeProvider() as provider:
        client = openai.OpenAI(base_url=provider.openai_base_url, api_key="test")
        provider.push(Behavior(status=429, retry_after=2))
        ...

Anthropic's Messages API is served on the same port (``anthropic.Anthropic(base_url=provider.url)``),
and so is Ollama's (``ollama.Client(host=provider.url)``), NDJSON streams included, Mistral's
under a prefix of its own (``Mistral(server_url=provider.mistral_server_url)``), Cohere's v2
(``cohere.ClientV2(base_url=provider.url)``), Amazon Bedrock Runtime's
(``boto3.client("bedrock-runtime", endpoint_url=provider.url, ...)``), its streams in AWS's binary
event stream, and Gemini's, for the
Gemini API and Vertex AI (``genai.Client(http_options={"base_url": provider.url}, ...)``).

It also serves Azure OpenAI's paths (``openai.AzureOpenAI(azure_endpoint=provider.url, ...)``)
and answers structured-output requests (``response_format`` / ``text.format``) with JSON
built deterministically from the request's schema.

Wire formats are pluggable: see `WireFormat` and ``_openai.py``.
"""

from ._behavior import BEHAVIOR_HEADER, Behavior
from ._server import FakeProvider, RecordedRequest
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireFormat, WireRequest

__all__ = [
    "BEHAVIOR_HEADER",
    "Behavior",
    "FakeProvider",
    "Handler",
    "JSONReply",
    "RecordedRequest",
    "SSEEvent",
    "SSEReply",
    "WireError",
    "WireFormat",
    "WireRequest",
]
