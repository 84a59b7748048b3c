"""The delivery log: one claim per delivery id, bounded, persistent, safe side by side."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from seamline.webhook.replay import DeliveryLog, Recorded


def test_a_replayed_id_is_refused(tmp_path: Path) -> None:
    log = DeliveryLog.under(tmp_path)
    assert log.claim("d-1", "push")
    assert not log.claim("d-1", "push")
    assert log.claim("d-2", "push")


def test_the_log_survives_a_restart_and_is_private(tmp_path: Path) -> None:
    DeliveryLog.under(tmp_path).claim("d-1", "push")
    again = DeliveryLog.under(tmp_path)
    assert not again.claim("d-1", "push")
    path = tmp_path / "webhook" / "deliveries.sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_decisions_are_recorded_and_a_release_allows_a_retry(tmp_path: Path) -> None:
    log = DeliveryLog.under(tmp_path)
    log.claim("d-1", "push")
    assert log.get("d-1") == Recorded("d-1", "push", "pending", "")
    log.settle("d-1", outcome="started", detail="run-7")
    assert log.get("d-1") == Recorded("d-1", "push", "started", "run-7")
    log.release("d-1")
    assert log.get("d-1") is None
    assert log.claim("d-1", "push")


def test_only_the_newest_are_kept(tmp_path: Path) -> None:
    log = DeliveryLog.under(tmp_path, keep=3)
    for n in range(5):
        assert log.claim(f"d-{n}", "push")
    assert len(log) == 3
    assert log.get("d-0") is None and log.get("d-1") is None
    assert not log.claim("d-4", "push")
    assert log.claim("d-0", "push")  # forgotten, so no longer a replay


def test_keep_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DeliveryLog.under(tmp_path, keep=0)


def test_concurrent_claims_of_one_id_have_one_winner(tmp_path: Path) -> None:
    logs = [DeliveryLog.under(tmp_path) for _ in range(16)]  # as separate processes would
    barrier = threading.Barrier(len(logs))

    def claim(log: DeliveryLog) -> bool:
        barrier.wait()
        return log.claim("same-delivery", "push")

    with ThreadPoolExecutor(len(logs)) as pool:
        results = list(pool.map(claim, logs))
    assert results.count(True) == 1


def test_concurrent_claims_of_distinct_ids_all_win(tmp_path: Path) -> None:
    log = DeliveryLog.under(tmp_path, keep=1000)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda n: log.claim(f"d-{n}", "push"), range(200)))
    assert all(results) and len(log) == 200
