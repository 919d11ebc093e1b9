"""One module per measured variant.

Each declares ``PROVIDERS`` (the provider SDKs it measures, see ``_providers.py``), ``VENV`` (the
virtualenv under ``benchmarks/.envs`` it runs in), optionally ``ENVIRON`` (environment variables
for its worker, e.g. to turn content capture off), ``DISTRIBUTIONS`` (package versions to report)
and ``SET_GLOBALS`` (False: the worker leaves the API's no-op global tracer and meter providers in
place), and defines ``instrument(provider, tracer_provider, meter_provider)``. Modules import their
instrumentation inside ``instrument`` only, so that ``run.py`` can read the declarations with any
interpreter.
"""
