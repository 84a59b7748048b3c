"""Settings, the repository's pipeline config, and where the checkout is."""
