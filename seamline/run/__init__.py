"""What one run produces: stage results, cache-key inputs, provenance, the report."""
