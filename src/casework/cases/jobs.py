"""The case package's background jobs, imported by the worker (`kernel.jobs.run_due`):
advancing processes, timers, integrations, SLA deadlines, notifications."""

from casework.cases import notifications, process, sla  # noqa: F401  (they register handlers)
