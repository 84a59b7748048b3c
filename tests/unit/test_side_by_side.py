"""Calls of one task side by side: results in order, every call finished before an error."""

from __future__ import annotations

import threading
import time

import pytest

from tasks.side_by_side import side_by_side


def test_results_come_back_in_call_order_and_calls_overlap() -> None:
    both_running = threading.Barrier(2, timeout=5)

    def first() -> str:
        both_running.wait()  # only passes when the second call runs at the same time
        time.sleep(0.05)
        return "first"

    def second() -> str:
        both_running.wait()
        return "second"

    assert side_by_side(first, second) == ["first", "second"]


def test_an_error_is_raised_only_after_every_call_finished() -> None:
    finished: list[str] = []

    def slow() -> None:
        time.sleep(0.2)
        finished.append("slow")

    def failing() -> None:
        raise ValueError("gate said no")

    with pytest.raises(ValueError, match="gate said no"):
        side_by_side(failing, slow)
    assert finished == ["slow"]
