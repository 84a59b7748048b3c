"""Checks on every name, path and reference a run is given from outside."""
