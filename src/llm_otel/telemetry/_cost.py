"""What each call cost, in USD, accumulated as plain numbers and exported through observable counters.

Five synchronous ``Counter.add`` calls per call (one per token type) would cost ~100 µs, most of
the whole per-call budget; adding floats under a lock costs ~1 µs. The counters are cumulative, so
the collected values are exactly what synchronous counters would have reported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from . import _names as n
from ._pricing import prices

if TYPE_CHECKING:
    from ._record import Outcome

# The parts of a price, in the order of Price.per_token(), as gen_ai.token.type values.
_PARTS = (n.TOKEN_INPUT, n.TOKEN_CACHE_READ, n.TOKEN_CACHE_WRITE, n.TOKEN_OUTPUT, n.TOKEN_REASONING)


class CostMeter:
    """USD spent by (provider, request model, token type), and calls whose model has no price."""

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        # (provider, bounded request model) -> USD per part, in _PARTS order.
        self._spent: dict[tuple[str, str], list[float]] = {}
        self._unpriced: dict[tuple[str, str], int] = {}
        meter.create_observable_counter(
            n.LLM_OTEL_COST,
            callbacks=[self._observe_cost],
            unit="USD",
            description="Estimated cost of GenAI calls from reported token usage and the price table, in USD.",
        )
        meter.create_observable_counter(
            n.LLM_OTEL_UNPRICED_CALLS,
            callbacks=[self._observe_unpriced],
            unit="{call}",
            description="GenAI calls that reported token usage for a model the price table does not list.",
        )

    def record(self, provider: str, bounded_model: str, model: str | None, outcome: Outcome | None) -> float | None:
        """Add one finished call's cost; return it, or None when it reported no usage or has no price.

        The response model is priced first: it names the model that actually answered (the model
        behind an Azure deployment, a dated snapshot); then the requested ``model``.
        """
        if outcome is None:
            return None
        input_tokens, output_tokens = outcome.input_tokens, outcome.output_tokens
        if input_tokens is None and output_tokens is None:
            return None
        # The prompt length picks a long-context tier where the price has one.
        prompt = input_tokens or 0
        rates = prices.per_token(provider, outcome.response_model, prompt) if outcome.response_model else None
        if rates is None and model:
            rates = prices.per_token(provider, model, prompt)
        key = (provider, bounded_model)
        if rates is None:
            prices.report_unpriced(provider, outcome.response_model or model or "")
            with self._lock:
                self._unpriced[key] = self._unpriced.get(key, 0) + 1
            return None
        # The conventions' input count includes cached tokens and the output count reasoning
        # tokens: those are taken out of the plain input and output, each part priced once.
        cache_read = outcome.cache_read_tokens or 0
        cache_write = outcome.cache_creation_tokens or 0
        reasoning = outcome.reasoning_tokens or 0
        plain_input = max(prompt - cache_read - cache_write, 0) * rates[0]
        plain_output = max((output_tokens or 0) - reasoning, 0) * rates[3]
        with self._lock:
            spent = self._spent.get(key)
            if spent is None:
                spent = self._spent[key] = [0.0, 0.0, 0.0, 0.0, 0.0]
            spent[0] += plain_input
            spent[3] += plain_output
            if not (cache_read or cache_write or reasoning):  # most calls: the other parts add nothing
                return plain_input + plain_output
            parts = (cache_read * rates[1], cache_write * rates[2], reasoning * rates[4])
            spent[1] += parts[0]
            spent[2] += parts[1]
            spent[4] += parts[2]
        return plain_input + parts[0] + parts[1] + plain_output + parts[2]

    def _observe_cost(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = [(key, list(spent)) for key, spent in self._spent.items()]
        for (provider, model), spent in items:
            for part, usd in zip(_PARTS, spent, strict=True):
                if usd:  # a part never spent on is not a series; once spent it stays (the sum only grows)
                    yield Observation(usd, _attributes(provider, model, {n.TOKEN_TYPE: part}))

    def _observe_unpriced(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._unpriced.items())
        for (provider, model), count in items:
            yield Observation(count, _attributes(provider, model, {}))


def _attributes(provider: str, model: str, extra: dict[str, str]) -> dict[str, str]:
    attrs = {n.PROVIDER_NAME: provider, **extra}
    if model:
        attrs[n.REQUEST_MODEL] = model
    return attrs
