"""The `seamline` console command (``deployments.cli``)."""

from __future__ import annotations

import sys


def main() -> None:
    from deployments.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:]))
