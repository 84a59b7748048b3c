#!/usr/bin/env bash
# The test suite: static checks, then unit and integration tests on the real local stack
# (the integration session brings the stack up itself).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
