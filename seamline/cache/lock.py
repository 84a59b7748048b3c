"""A Prefect lock manager on kernel file locks, for SERIALIZABLE cache isolation.

Two runs that miss the cache for the same key at the same time must not both compute
it: for an image that would be two builds, two digests, two signatures for one commit.
Prefect's cache isolation holds a lock per cache key while the task runs; the second run
waits, then reads the first one's result. Prefect's own file lock manager leaves a lock
file behind when its holder dies, and the next run then waits for it forever. ``flock``
locks belong to an open file: the kernel releases them when the holder's process ends,
however it ends. They work between processes on one machine, which is what the local
stack and a single executor are; executors on several machines use a shared lock
manager instead (Prefect's Redis one).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time
from pathlib import Path

from prefect.locking.protocol import LockManager

POLL_S = 0.05


class FlockLockManager(LockManager):
    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._held: dict[str, tuple[str, int]] = {}  # key -> (holder, fd)
        self._mutex = threading.Lock()

    def __deepcopy__(self, memo: dict[int, object]) -> FlockLockManager:
        return FlockLockManager(self._directory)  # held locks are per instance, never copied

    @property
    def directory(self) -> Path:
        if self._directory is None:
            from prefect.settings import get_current_settings

            self._directory = Path(get_current_settings().home) / "cache-locks"
        self._directory.mkdir(parents=True, exist_ok=True)
        return self._directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{key.replace('/', '_')}.lock"

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        if self.is_lock_holder(key, holder):
            return True
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(POLL_S)
        with self._mutex:
            self._held[key] = (holder, fd)
        return True

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        return await asyncio.to_thread(
            self.acquire_lock, key, holder, acquire_timeout, hold_timeout
        )

    def release_lock(self, key: str, holder: str) -> None:
        with self._mutex:
            held = self._held.get(key)
            if held is None or held[0] != holder:
                raise ValueError(f"{holder} does not hold the lock for {key}")
            del self._held[key]
        fcntl.flock(held[1], fcntl.LOCK_UN)
        os.close(held[1])

    def is_locked(self, key: str) -> bool:
        with self._mutex:
            if key in self._held:
                return True
        path = self._path(key)
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def is_lock_holder(self, key: str, holder: str) -> bool:
        with self._mutex:
            held = self._held.get(key)
        return held is not None and held[0] == holder

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_locked(key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.wait_for_lock, key, timeout)
