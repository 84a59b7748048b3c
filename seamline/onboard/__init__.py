"""Onboarding a repository: discover its services and overlays, propose a seamline.toml."""
