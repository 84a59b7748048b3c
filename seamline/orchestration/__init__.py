"""How seamline talks to Prefect: API access, log delivery, run clients."""
