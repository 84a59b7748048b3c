"""The cache-isolation lock: one holder per key across processes, freed when one dies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from seamline.cache.lock import FlockLockManager

# Holds the key until it is killed (its stdin never closes before that).
HOLD = """
import sys
from pathlib import Path
from seamline.cache.lock import FlockLockManager
FlockLockManager(Path(sys.argv[1])).acquire_lock("k", "other")
print("held", flush=True)
sys.stdin.read()
"""


def test_one_holder_per_key(tmp_path: Path) -> None:
    locks = FlockLockManager(tmp_path)
    assert locks.acquire_lock("k", "a")
    assert locks.is_lock_holder("k", "a") and not locks.is_lock_holder("k", "b")
    assert not locks.acquire_lock("k", "b", acquire_timeout=0.2)
    locks.release_lock("k", "a")
    assert not locks.is_locked("k")
    assert locks.acquire_lock("k", "b", acquire_timeout=0.2)


def test_a_killed_holder_frees_the_key(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        locks = FlockLockManager(tmp_path)
        assert locks.is_locked("k")
        assert not locks.acquire_lock("k", "me", acquire_timeout=0.2)
        holder.kill()
        holder.wait()
        # The kernel dropped the dead holder's lock: free at once, no waiting it out.
        assert not locks.is_locked("k")
        assert locks.acquire_lock("k", "me", acquire_timeout=0)
    finally:
        holder.kill()
        holder.wait()
