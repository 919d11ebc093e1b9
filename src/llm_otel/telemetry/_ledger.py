"""What calls leave behind in plain numbers: requests in flight, USD spent, calls without a price.

Each is exported through an observable instrument. A synchronous ``UpDownCounter.add`` or
``Counter.add`` costs as much as a histogram record; two in-flight adds and five cost adds (one per
token type) per call would cost more than the rest of the instrumentation. Instead a call finds its
entry, one per (operation, provider, bounded model), once at its start, and settles it at its end
under one lock, together with its count in the health window: about 15,000 instructions in all,
pricing included, where one histogram record costs about 103,000.
The counters are cumulative, so the collected values are exactly what synchronous ones would say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from . import _names as n
from ._pricing import PerToken, prices
from ._window import Ring, calls, provider_fault

if TYPE_CHECKING:
    from ._record import Outcome

# Distinct entries kept before new ones fold into one overflow entry per operation and provider.
_MAX_ENTRIES = 1000
# The parts of a price, in the order of Price.per_token(), as gen_ai.token.type values.
_PARTS = (n.TOKEN_INPUT, n.TOKEN_CACHE_READ, n.TOKEN_CACHE_WRITE, n.TOKEN_OUTPUT, n.TOKEN_REASONING)


class Entry:
    """One (operation, provider, bounded model): its calls in flight and what they cost."""

    __slots__ = ("in_flight", "model", "operation", "provider", "ring", "spent", "unpriced")

    def __init__(self, operation: str, provider: str, model: str, ring: Ring | None) -> None:
        self.operation = operation
        self.provider = provider
        self.model = model  # bounded; "" when the call named none
        self.ring = ring  # the provider's in the health window
        self.in_flight = 0
        self.spent = [0.0, 0.0, 0.0, 0.0, 0.0]  # USD per part, in _PARTS order
        self.unpriced = 0


class Ledger:
    """The entries of one MeterProvider, and the observable instruments that report them."""

    def __init__(self, meter: Meter) -> None:
        self._entries: dict[tuple[str, str, str], Entry] = {}
        meter.create_observable_up_down_counter(
            n.LLM_OTEL_REQUESTS_IN_FLIGHT,
            callbacks=[self._observe_in_flight],
            unit="{request}",
            description="GenAI client requests started and not yet finished (streams until they end).",
        )
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

    def enter(self, operation: str, provider: str, model: str) -> Entry:
        """One call started: its entry, now with one more in flight."""
        key = (operation, provider, model)
        # acquire() and release() rather than ``with``, here and in leave(): half the instructions.
        lock = calls.lock
        lock.acquire()
        try:
            entry = self._entries.get(key)
            if entry is not None:
                entry.in_flight += 1
                return entry
        finally:
            lock.release()
        return self._add(key)

    def _add(self, key: tuple[str, str, str]) -> Entry:
        ring = calls.ring(key[1])
        entries = self._entries
        with calls.lock:
            entry = entries.get(key)  # another thread's call may have added it meanwhile
            if entry is None and len(entries) >= _MAX_ENTRIES:
                key = (key[0], key[1], n.ERROR_OTHER)
                entry = entries.get(key)
            if entry is None:
                entry = entries[key] = Entry(*key, ring)
            entry.in_flight += 1
        return entry

    def leave(
        self, entry: Entry, model: str | None, outcome: Outcome | None, exc: BaseException | None, now: float
    ) -> float | None:
        """One call of ``entry`` ended at ``now`` (``perf_counter``): settle it; return its cost.

        The cost is None when the call reported no usage or its model has no price. The response
        model is priced first: it names the model that actually answered (the model behind an Azure
        deployment, a dated snapshot); then the requested ``model``.
        """
        fault = exc is not None and provider_fault(exc)
        parts = None
        unpriced: str | None = None  # the model named in the log when the call's has no price
        if outcome is not None and (outcome.input_tokens is not None or outcome.output_tokens is not None):
            parts = _parts(entry.provider, model, outcome)
            if parts is None:
                unpriced = outcome.response_model or model or ""
        slot = int(now / calls.width)  # calls.slot(now), without the call
        ring = entry.ring
        if ring is None or not ring.live:  # past the providers the window keeps, or it was resized
            ring = entry.ring = calls.ring(entry.provider)
        lock = calls.lock
        lock.acquire()
        try:
            entry.in_flight -= 1
            if ring is not None:
                ring.add(slot, fault)
            if parts is not None:
                spent = entry.spent
                spent[0] += parts[0]
                spent[1] += parts[1]
                spent[2] += parts[2]
                spent[3] += parts[3]
                spent[4] += parts[4]
            elif unpriced is not None:
                entry.unpriced += 1
        finally:
            lock.release()
        if parts is not None:
            return parts[0] + parts[1] + parts[2] + parts[3] + parts[4]
        if unpriced is not None:
            prices.report_unpriced(entry.provider, unpriced)
        return None

    def _items(self) -> list[Entry]:
        with calls.lock:
            return list(self._entries.values())

    def _observe_in_flight(self, _options: CallbackOptions) -> Iterable[Observation]:
        for entry in self._items():
            attrs = {n.OPERATION_NAME: entry.operation, n.PROVIDER_NAME: entry.provider, n.REQUEST_MODEL: entry.model}
            yield Observation(entry.in_flight, attrs)

    def _observe_cost(self, _options: CallbackOptions) -> Iterable[Observation]:
        # Reported by (provider, model, token type): the entries of each operation added up.
        spent: dict[tuple[str, str], list[float]] = {}
        with calls.lock:
            for entry in self._entries.values():
                total = spent.setdefault((entry.provider, entry.model), [0.0] * len(_PARTS))
                for index, usd in enumerate(entry.spent):
                    total[index] += usd
        for (provider, model), total in spent.items():
            for part, usd in zip(_PARTS, total, strict=True):
                if usd:  # a part never spent on is not a series; once spent it stays (the sum only grows)
                    yield Observation(usd, _attributes(provider, model, {n.TOKEN_TYPE: part}))

    def _observe_unpriced(self, _options: CallbackOptions) -> Iterable[Observation]:
        unpriced: dict[tuple[str, str], int] = {}
        for entry in self._items():
            if entry.unpriced:
                key = (entry.provider, entry.model)
                unpriced[key] = unpriced.get(key, 0) + entry.unpriced
        for (provider, model), count in unpriced.items():
            yield Observation(count, _attributes(provider, model, {}))


def _parts(provider: str, model: str | None, outcome: Outcome) -> PerToken | None:
    """USD of each part of one call's usage, in _PARTS order; None when its model has no price."""
    # The prompt length picks a long-context tier where the price has one.
    prompt = outcome.input_tokens or 0
    rates = prices.per_token(provider, outcome.response_model, prompt) if outcome.response_model else None
    if rates is None and model:
        rates = prices.per_token(provider, model, prompt)
    if rates is None:
        return None
    output = outcome.output_tokens or 0
    cache_read = outcome.cache_read_tokens or 0
    cache_write = outcome.cache_creation_tokens or 0
    reasoning = outcome.reasoning_tokens or 0
    if not (cache_read or cache_write or reasoning):  # most calls
        return prompt * rates[0], 0.0, 0.0, output * rates[3], 0.0
    # The conventions' input count includes cached tokens and the output count reasoning tokens:
    # those are taken out of the plain input and output, each part priced once.
    return (
        max(prompt - cache_read - cache_write, 0) * rates[0],
        cache_read * rates[1],
        cache_write * rates[2],
        max(output - reasoning, 0) * rates[3],
        reasoning * rates[4],
    )


def _attributes(provider: str, model: str, extra: dict[str, str]) -> dict[str, str]:
    attrs = {n.PROVIDER_NAME: provider, **extra}
    if model:
        attrs[n.REQUEST_MODEL] = model
    return attrs
