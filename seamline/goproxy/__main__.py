"""``python -m seamline.goproxy``: the module proxy the local stack runs for builds."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seamline.goproxy.server import GoProxy, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seamline.goproxy")
    parser.add_argument("--listen", action="append", required=True, help="an address")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.cache.mkdir(parents=True, exist_ok=True)
    proxy = GoProxy.connect(upstream=args.upstream, cache_dir=args.cache)
    serve(proxy, addresses=args.listen, port=args.port)


if __name__ == "__main__":
    main()
