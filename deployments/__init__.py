"""Entry points: the `seamline` CLI, and later the webhook relay and schedules."""
