"""Calls of one task side by side: results in order, every call finished before an error."""

from __future__ import annotations

import threading

import pytest

from tasks.side_by_side import side_by_side


def test_results_come_back_in_call_order_and_calls_overlap() -> None:
    both_running = threading.Barrier(2, timeout=5)
    second_returned = threading.Event()

    def first() -> str:
        both_running.wait()  # only passes when the second call runs at the same time
        assert second_returned.wait(timeout=5)  # so the first call finishes last
        return "first"

    def second() -> str:
        both_running.wait()
        second_returned.set()
        return "second"

    assert side_by_side(first, second) == ["first", "second"]


def test_an_error_is_raised_only_after_every_call_finished() -> None:
    finished: list[str] = []
    failed = threading.Event()

    def slow() -> None:
        assert failed.wait(timeout=5)  # still running when the other call has failed
        finished.append("slow")

    def failing() -> None:
        failed.set()
        raise ValueError("gate said no")

    with pytest.raises(ValueError, match="gate said no"):
        side_by_side(failing, slow)
    assert finished == ["slow"]
