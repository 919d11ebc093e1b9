"""The one table of telemetry names: semantic-convention attributes, metrics and values, and ours.

No other module spells an attribute or metric name. The GenAI conventions are still moving, so the
names that differ between the latest released conventions and the newest experimental ones are
chosen here, once, from ``OTEL_SEMCONV_STABILITY_OPT_IN`` (``gen_ai_latest_experimental``), the
switch the OpenTelemetry instrumentations use.
"""

from __future__ import annotations

import os
from typing import Final

EXPERIMENTAL: Final = "gen_ai_latest_experimental" in {
    part.strip() for part in os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "").split(",")
}

# --- span and metric attributes (GenAI conventions) -------------------------------------------
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
REQUEST_STREAM: Final = "gen_ai.request.stream"
EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
OUTPUT_TYPE: Final = "gen_ai.output.type"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = (
    "gen_ai.usage.cache_write.input_tokens" if EXPERIMENTAL else "gen_ai.usage.cache_creation.input_tokens"
)
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"
TOKEN_MODALITY: Final = "gen_ai.token.modality"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
# Opt-in message content (telemetry/_content.py, docs/content.md): span attributes and the log event.
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
EVENT_INFERENCE_DETAILS: Final = "gen_ai.client.inference.operation.details"

# OpenAI-specific attributes (the conventions moved them out of the deprecated gen_ai.openai.*).
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"

# --- attribute values ---------------------------------------------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EMBEDDINGS: Final = "embeddings"
TOKEN_INPUT: Final = "input"
TOKEN_OUTPUT: Final = "output"
MODALITY_TEXT: Final = "text"
MODALITY_UNKNOWN: Final = "unknown"
OUTPUT_TEXT: Final = "text"
OUTPUT_JSON: Final = "json"
ERROR_OTHER: Final = "_OTHER"

# --- metrics (GenAI conventions) with the bucket boundaries they advise ------------------------
# Released conventions (semantic-conventions v1.41): one duration histogram for every operation
# and one token histogram split by gen_ai.token.type.
# Newest experimental (semantic-conventions-genai): per-kind durations, per-direction token
# histograms recorded for every call (0 when no usage arrived), and usage counters by modality.
CLIENT_OPERATION_DURATION: Final = (
    "gen_ai.client.inference.duration" if EXPERIMENTAL else "gen_ai.client.operation.duration"
)
CLIENT_EMBEDDINGS_DURATION: Final = (
    "gen_ai.client.embeddings.duration" if EXPERIMENTAL else "gen_ai.client.operation.duration"
)
STABLE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"  # also pydantic-ai's
CLIENT_TIME_TO_FIRST_CHUNK: Final = (
    "gen_ai.client.inference.time_to_first_chunk" if EXPERIMENTAL else STABLE_TIME_TO_FIRST_CHUNK
)
CLIENT_TIME_PER_OUTPUT_CHUNK: Final = (
    "gen_ai.client.inference.time_per_output_chunk" if EXPERIMENTAL else "gen_ai.client.operation.time_per_output_chunk"
)
CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
CLIENT_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
CLIENT_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
CLIENT_EMBEDDINGS_INPUT_TOKENS: Final = "gen_ai.client.embeddings.operation.input_tokens"
CLIENT_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
CLIENT_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
CLIENT_USAGE_CACHE_READ_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
CLIENT_USAGE_CACHE_WRITE_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
CLIENT_USAGE_REASONING_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"

DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
TIME_TO_FIRST_CHUNK_BUCKETS: Final = DURATION_BUCKETS
TIME_PER_OUTPUT_CHUNK_BUCKETS: Final = DURATION_BUCKETS

# --- ours: one namespace, documented in docs/telemetry.md --------------------------------------
LLM_OTEL_REQUESTS_IN_FLIGHT: Final = "llm_otel.client.requests.in_flight"
LLM_OTEL_PROVIDER_HEALTH: Final = "llm_otel.provider.health"

INSTRUMENTATION_SCOPE: Final = "llm_otel"

# --- resilience (llm_otel.resilience; docs/telemetry.md#resilience, docs/resilience.md) ---------
RESILIENT_SPAN: Final = "resilient"  # span name prefix: "resilient {name}"
RESILIENCE_NAME: Final = "llm_otel.resilience.name"
RESILIENCE_ROUTE: Final = "llm_otel.resilience.route"
RESILIENCE_OUTCOME: Final = "llm_otel.resilience.outcome"
RESILIENCE_ATTEMPT: Final = "llm_otel.resilience.attempt"
RESILIENCE_ATTEMPT_COUNT: Final = "llm_otel.resilience.attempt_count"
RESILIENCE_DELAY: Final = "llm_otel.resilience.delay"
RESILIENCE_FROM: Final = "llm_otel.resilience.from"
RESILIENCE_TO: Final = "llm_otel.resilience.to"
RESILIENCE_REASON: Final = "llm_otel.resilience.reason"
BREAKER_NAME: Final = "llm_otel.circuit_breaker.name"
BREAKER_FROM_STATE: Final = "llm_otel.circuit_breaker.from_state"
BREAKER_TO_STATE: Final = "llm_otel.circuit_breaker.to_state"
BREAKER_OUTCOME: Final = "llm_otel.circuit_breaker.outcome"
# metrics
RESILIENCE_CALLS: Final = "llm_otel.resilience.calls"
RESILIENCE_ATTEMPTS: Final = "llm_otel.resilience.attempts"
RESILIENCE_RETRIES: Final = "llm_otel.resilience.retries"
RESILIENCE_FALLBACKS: Final = "llm_otel.resilience.fallbacks"
BREAKER_STATE: Final = "llm_otel.circuit_breaker.state"
BREAKER_TRANSITIONS: Final = "llm_otel.circuit_breaker.transitions"
BREAKER_CALLS: Final = "llm_otel.circuit_breaker.calls"
# span events and structured log events
EVENT_RETRY: Final = "retry"
EVENT_FALLBACK: Final = "fallback"
EVENT_BREAKER_REJECTED: Final = "circuit_breaker.rejected"
LOG_BREAKER_STATE_CHANGE: Final = "circuit_breaker.state_change"
LOG_FALLBACK_ACTIVATED: Final = "fallback.activated"
LOG_RETRY_SCHEDULED: Final = "retry.scheduled"
LOG_RETRY_EXHAUSTED: Final = "retry.exhausted"
# values: call outcomes (wrapper and breaker) and breaker states (gauge: 0 closed, 1 open, 2 half-open)
OUTCOME_SUCCESS: Final = "success"
OUTCOME_FAILURE: Final = "failure"
OUTCOME_IGNORED: Final = "ignored"
OUTCOME_REJECTED: Final = "rejected"
OUTCOME_SLOW: Final = "slow"
STATE_CLOSED: Final = "closed"
STATE_OPEN: Final = "open"
STATE_HALF_OPEN: Final = "half_open"

# --- cost, cardinality guard, agent/workflow/tool spans (docs/cost.md, docs/agents.md) ---------
LLM_OTEL_COST: Final = "llm_otel.client.cost"  # counter, USD
LLM_OTEL_UNPRICED_CALLS: Final = "llm_otel.client.unpriced_calls"
USAGE_COST: Final = "llm_otel.usage.cost"  # span attribute, USD
# gen_ai.token.type values of the cost counter: the parts a call's price is made of.
TOKEN_CACHE_READ: Final = "cache_read"
TOKEN_CACHE_WRITE: Final = "cache_write"
TOKEN_REASONING: Final = "reasoning"
# The value a bounded attribute takes once its cap of distinct values is reached.
OVERFLOW_VALUE: Final = "_OTHER"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_EXECUTE_TOOL: Final = "execute_tool"
AGENT_NAME: Final = "gen_ai.agent.name"
AGENT_ID: Final = "gen_ai.agent.id"
AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
AGENT_VERSION: Final = "gen_ai.agent.version"
WORKFLOW_NAME: Final = "gen_ai.workflow.name"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
WORKFLOW_DURATION: Final = "gen_ai.workflow.duration"
EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
