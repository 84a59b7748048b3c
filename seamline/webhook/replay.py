"""The deliveries the receiver has taken, by delivery id: a replayed id starts nothing.

A small SQLite file under the state folder (0600, folder 0700), so the record survives a
restart and any number of threads or processes can claim ids at once: claiming is one
insert under SQLite's write lock, and exactly one claimant of an id wins. It keeps the
newest ``keep`` deliveries with what was decided for each, and forgets older ones.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from seamline.errors import StateCorrupt

DEFAULT_KEEP = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    received REAL NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'pending',
    detail TEXT NOT NULL DEFAULT ''
)
"""


@dataclass(frozen=True)
class Recorded:
    delivery_id: str
    event: str
    outcome: str  # pending, started, ignored
    detail: str  # the flow run id, or why nothing started


class DeliveryLog:
    """Claims delivery ids and records what each delivery decided."""

    def __init__(self, path: Path, *, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._path = path
        self._keep = keep
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
            # Write-ahead log: a claim is one append, not a rewrite of the journal; with
            # synchronous=NORMAL a power cut may forget the last claims, never corrupt.
            db.execute("PRAGMA journal_mode=WAL")
        with self._write() as db:
            db.execute(_SCHEMA)

    @classmethod
    def under(cls, state_dir: Path, *, keep: int = DEFAULT_KEEP) -> DeliveryLog:
        return cls(state_dir / "webhook" / "deliveries.sqlite", keep=keep)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        except sqlite3.Error as e:
            raise StateCorrupt(f"cannot open {self._path}: {e}", hint=f"remove {self._path}") from e
        with closing(connection) as db:
            try:
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise StateCorrupt(
                    f"{self._path} cannot be written: {e}", hint=f"remove {self._path}"
                ) from e
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def claim(self, delivery_id: str, event: str) -> bool:
        """True for the first claim of ``delivery_id``; False for a replay."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (id, event, received) VALUES (?, ?, ?)",
                (delivery_id, event, time.time()),
            )
            if cursor.rowcount != 1:
                return False
            db.execute(
                "DELETE FROM deliveries WHERE seq <= (SELECT MAX(seq) FROM deliveries) - ?",
                (self._keep,),
            )
            return True

    def settle(self, delivery_id: str, *, outcome: str, detail: str) -> None:
        """Record what the delivery claimed as ``delivery_id`` decided."""
        with self._write() as db:
            db.execute(
                "UPDATE deliveries SET outcome = ?, detail = ? WHERE id = ?",
                (outcome, detail, delivery_id),
            )

    def release(self, delivery_id: str) -> None:
        """Forget a claim whose run could not be started, so a redelivery can try again."""
        with self._write() as db:
            db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))

    def get(self, delivery_id: str) -> Recorded | None:
        with self._write() as db:
            row = db.execute(
                "SELECT id, event, outcome, detail FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
        return None if row is None else Recorded(*row)

    def __len__(self) -> int:
        with self._write() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()
        return int(count)
