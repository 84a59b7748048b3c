"""The `seamline` console command: `seamline run` goes to the warm runner when one is up,
everything else (and every run the runner refuses) to ``deployments.cli``."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _subcommand(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _warm_run(argv: Sequence[str]) -> int | None:
    from pydantic import ValidationError

    from seamline.errors import SeamlineError
    from seamline.prefect_env import prefect_environment
    from seamline.settings import Settings
    from seamline.warm_runner import run_warm

    try:
        settings = Settings()
    except (ValidationError, SeamlineError):
        return None  # the in-process command reports bad settings properly
    if not settings.warm_runner:
        return None
    return run_warm(settings, argv, prefect_environment(settings))


def main() -> None:
    argv = sys.argv[1:]
    if _subcommand(argv) == "run":
        code = _warm_run(argv)
        if code is not None:
            sys.exit(code)
    from deployments.cli import main as cli_main

    sys.exit(cli_main(argv))
