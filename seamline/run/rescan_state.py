"""The re-scan's memory in the state folder: each digest's last findings and the open blocks.

``<state_dir>/rescan/<digest hex>.json`` holds one digest's last re-scan (vulnerability ids
per package), so the next re-scan can say what is new and what was fixed;
``<state_dir>/rescan/blocks.json`` holds the open blocks promotion refuses. Every write
replaces its file whole (a temporary file renamed over it), so a reader never sees half.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seamline.errors import StateCorrupt, UsageError
from seamline.policy.rescan import RescanBlock
from seamline.validate.image_ref import ImageRef

BLOCKS_FILE = "blocks.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRecord:
    """One digest's last re-scan: when, with which DB, and its findings per package."""

    digest: str
    reference: str
    scanned_at: dt.datetime
    trivy_db: str
    findings: dict[str, tuple[str, ...]]


def _hex(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    if (
        algorithm != "sha256"
        or len(hex_part) != 64
        or not all(c in "0123456789abcdef" for c in hex_part)
    ):
        raise UsageError(f"not a sha256 digest: {digest!r}")
    return hex_part


def _write_atomically(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise StateCorrupt(
            f"cannot read {path}: {e}",
            hint="delete the file; the next re-scan writes it again",
        ) from e


def _time(text: object, path: Path) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(text))
    except ValueError as e:
        raise StateCorrupt(f"{path}: bad time {text!r}", hint="delete the file") from e
    if when.tzinfo is None:
        raise StateCorrupt(f"{path}: time {text!r} has no time zone", hint="delete the file")
    return when


@dataclass(frozen=True)
class RescanState:
    """The ``rescan`` folder of one state directory."""

    folder: Path

    @classmethod
    def under(cls, state_dir: Path) -> RescanState:
        return cls(state_dir / "rescan")

    def scan_path(self, digest: str) -> Path:
        return self.folder / f"{_hex(digest)}.json"

    @property
    def blocks_path(self) -> Path:
        return self.folder / BLOCKS_FILE

    def last_scan(self, digest: str) -> ScanRecord | None:
        """The digest's previous re-scan, or None when it was never re-scanned."""
        path = self.scan_path(digest)
        data = _read(path)
        if data is None:
            return None
        try:
            return ScanRecord(
                digest=data["digest"],
                reference=data["reference"],
                scanned_at=_time(data["scanned_at"], path),
                trivy_db=data["trivy_db"],
                findings={str(p): tuple(map(str, ids)) for p, ids in data["findings"].items()},
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise StateCorrupt(f"{path}: not a re-scan record ({e})", hint="delete it") from e

    def save_scan(self, record: ScanRecord) -> Path:
        path = self.scan_path(record.digest)
        _write_atomically(
            path,
            {
                "digest": record.digest,
                "reference": record.reference,
                "scanned_at": record.scanned_at.isoformat(),
                "trivy_db": record.trivy_db,
                "findings": {p: list(ids) for p, ids in sorted(record.findings.items())},
            },
        )
        return path

    def blocks(self) -> dict[str, RescanBlock]:
        """The open blocks by digest; none when no re-scan has blocked anything yet."""
        path = self.blocks_path
        data = _read(path)
        if data is None:
            return {}
        try:
            blocks = [
                RescanBlock(
                    digest=entry["digest"],
                    reference=entry["reference"],
                    reason=entry["reason"],
                    findings=tuple(map(str, entry["findings"])),
                    since=_time(entry["since"], path),
                )
                for entry in data["blocks"]
            ]
        except (KeyError, TypeError, UsageError) as e:
            raise StateCorrupt(f"{path}: not a blocks file ({e})", hint="delete it") from e
        return {b.digest: b for b in blocks}

    def block_for(self, reference: str) -> RescanBlock | None:
        """The open block on ``name@sha256:…``'s digest, if any."""
        digest = ImageRef.parse(reference).digest
        return self.blocks().get(digest) if digest else None

    def save_blocks(self, blocks: Mapping[str, RescanBlock]) -> Path:
        _write_atomically(
            self.blocks_path,
            {
                "blocks": [
                    {
                        "digest": b.digest,
                        "reference": b.reference,
                        "reason": b.reason,
                        "findings": list(b.findings),
                        "since": b.since.isoformat(),
                    }
                    for _, b in sorted(blocks.items())
                ]
            },
        )
        return self.blocks_path
