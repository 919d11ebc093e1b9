"""One module per measured variant.

Each declares ``VENV`` (the virtualenv under ``benchmarks/.envs`` it runs in), optionally
``ENVIRON`` (environment variables for its worker, e.g. to turn content capture off) and
``DISTRIBUTIONS`` (package versions to report), and defines ``instrument(tracer_provider,
meter_provider)``. Modules import their instrumentation inside ``instrument`` only, so that
``run.py`` can read the declarations with any interpreter.
"""
