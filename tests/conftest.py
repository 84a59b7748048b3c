"""Markers by folder, so a selection says what a test needs rather than where it lives.

    unit   tests/unit         pure: no external tool, no network, no stack; seconds
    tool   tests/tools        real tool binaries (go, git, cosign, ...), real processes and
                              local sockets (daemons, locks, a Prefect client); no stack
    stack  tests/integration  the shared local stack (and every test using ``stack_up``)

``pytest -m unit`` is the quick loop; ``pytest -m "not stack"`` needs only the tools.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
FOLDER_MARKERS = {"unit": "unit", "tools": "tool", "integration": "stack"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).relative_to(TESTS).parts[0]
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None:
            item.add_marker(marker)
        if "stack_up" in getattr(item, "fixturenames", ()):
            item.add_marker("stack")
