"""llm-otel: OpenTelemetry-first observability for Python applications that call LLM providers.

Example::

    import llm_otel

    llm_otel.instrument()  # every installed, supported provider SDK
"""

from __future__ import annotations

from ._instrument import instrument, uninstrument
from ._version import __version__

__all__ = ["__version__", "instrument", "uninstrument"]
