"""Pure policy: decisions over parsed tool output and run results, with no I/O of their own.

``findings`` parses a scanner report, ``allowlist`` reads the accepted exceptions, and
``gate`` decides whether a scan passes; other modules here hold the other gates.
"""
