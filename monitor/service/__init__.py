"""The service: what runs the pipeline and keeps it running.

``pipeline`` (one cycle: poll, store, classify, dispatch), ``daemon`` (the scheduler, signals,
reloads), ``workers`` (PostgreSQL workers dividing sources and digests by leases), ``health`` and
``metrics`` (the /healthz and /metrics endpoint), ``lock`` (one instance per SQLite database) and
``logs`` (log lines for people or shippers).

Nothing is imported here on purpose: every command sets up logging from ``service.logs``, and
importing the daemon with it would load the scheduler, the HTTP stack and the engine's code
before a command even parses its arguments. Import from the modules: ``from
monitor.service.daemon import Daemon``.
"""
