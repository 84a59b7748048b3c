"""The `seamline` console command: `seamline run` goes to the warm runner when one is up,
everything else (and every run the runner refuses) to ``deployments.cli``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _subcommand(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main() -> None:
    argv = sys.argv[1:]
    if _subcommand(argv) == "run":
        from seamline.orchestration.warm_client import run_warm

        code = run_warm(argv)
        if code is not None:
            sys.exit(code)
    from deployments.cli import main as cli_main

    sys.exit(cli_main(argv))
