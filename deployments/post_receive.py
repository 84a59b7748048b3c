"""What a bare repository's seamline ``post-receive`` hook runs (see
``seamline.webhook.post_receive``):

    python -m deployments.post_receive --repository <bare repository>

Reads git's ``<old> <new> <ref>`` lines on stdin and delivers them to the webhook
receiver. It always exits 0: the push has happened, and a warning is all a failure gets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

from seamline.config.settings import Settings
from seamline.errors import SeamlineError
from seamline.webhook.post_receive import notify, read_updates
from seamline.webhook.secret import load_secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="post-receive")
    parser.add_argument("--repository", type=Path, required=True)
    args = parser.parse_args(argv)
    updates = read_updates(sys.stdin.read())
    if not updates:
        return 0
    try:
        settings = Settings()
        secret = load_secret(settings).get_secret_value().encode()
        with httpx.Client(trust_env=False) as client:
            warnings = notify(
                updates,
                bare=args.repository,
                url=settings.webhook_url,
                secret=secret,
                client=client,
            )
    except SeamlineError as e:
        warnings = [e.message]
    except Exception as e:  # the push happened; whatever went wrong is only worth a warning
        warnings = [type(e).__name__]
    for warning in warnings:
        print(f"seamline: webhook delivery failed: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
