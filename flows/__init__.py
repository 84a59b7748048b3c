"""Prefect flows: wiring only (which task runs after which, fan-out, gathering)."""
