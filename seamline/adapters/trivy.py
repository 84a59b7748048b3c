"""Trivy: vulnerability scan of an image against a chosen DB repository.

One scan prints cosign's vuln predicate (``--format cosign-vuln``): Trivy's JSON report
sits inside it, so the gate and the attestation read the same scan, and the DB the scan
read (the mirror's repository and digest, which Trivy leaves blank) is filled in.

The DB is downloaded once per DB digest into a cache folder of its own (a rebuilt mirror
is a new folder, so no scan ever reads an older DB), under a lock; scans then read it
without updating it and keep no layer cache of their own (``--cache-backend memory``).
Trivy's file cache takes an exclusive lock with a fixed 5 s timeout: on a loaded machine,
scans that shared it failed with "cache may be in use by another process: timeout".
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path

from seamline.adapters.roles import ImageScan
from seamline.errors import ToolFailed
from seamline.policy.findings import ReportFormatError, ScanReport, parse_trivy_report
from seamline.tools.process import CompletedRun, last_lines, run

# Trivy failures worth a retry: a lock held too long, the registry out of reach for a moment.
_TRANSIENT = ("may be in use by another process", "connection refused", "i/o timeout", "EOF")


class Trivy:
    def __init__(
        self,
        *,
        binary: Path,
        cache_dir: Path,
        db_repository: str,
        docker_host: str,
        pinned: bool = True,
        db_digest: str = "",
    ) -> None:
        self._pinned = pinned  # the cache folder belongs to one DB digest
        self._db_digest = db_digest
        self._binary = binary
        self._docker_host = docker_host
        self._cache_dir = cache_dir
        self._db_repository = db_repository

    def ensure_db(self) -> None:
        """Download the vulnerability DB into this cache folder once."""
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        lock = os.open(self._cache_dir / ".download.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._pinned and (self._cache_dir / "db" / "trivy.db").is_file():
                return
            run(
                [
                    str(self._binary),
                    "image",
                    "--download-db-only",
                    "--cache-dir",
                    str(self._cache_dir),
                    "--db-repository",
                    self._db_repository,
                    "--insecure",
                    "--skip-version-check",
                    "--quiet",
                ],
                timeout=600,
                hint="check the trivy DB mirror with `seamline stack status`",
            )
        finally:
            os.close(lock)

    def scan_image(
        self,
        reference: str,
        *,
        severities: Sequence[str],
        local: bool = False,
        layout: Path | None = None,
    ) -> ImageScan:
        """Scan ``reference`` from its registry (or the local Docker Engine when ``local``,
        or the OCI layout folder ``layout``, which ``reference`` then names in messages).

        Findings decide nothing here (trivy exits 0 on them): the gate reads the report.
        """
        self.ensure_db()
        try:
            result = self._scan(image_source(reference, local=local, layout=layout), severities)
        except ToolFailed as e:
            raise ToolFailed(
                f"trivy could not scan {reference}: {e.message}",
                returncode=e.returncode,
                stderr_tail=e.stderr_tail,
                hint="check the trivy DB mirror with `seamline stack status`",
                transient=any(marker in e.stderr_tail for marker in _TRANSIENT),
            ) from e
        if not result.stdout.strip():
            raise ToolFailed(
                f"trivy printed no report for {reference}: {last_lines(result.stderr)}"
            )
        return read_scan(
            result.stdout, reference, db_uri=self._db_repository, db_version=self._db_digest
        )

    def _scan(self, source: list[str], severities: Sequence[str]) -> CompletedRun:
        return run(
            [
                str(self._binary),
                "image",
                "--cache-dir",
                str(self._cache_dir),
                "--cache-backend",
                "memory",
                "--skip-db-update",
                "--skip-java-db-update",
                "--skip-version-check",
                "--scanners",
                "vuln",
                "--docker-host",
                self._docker_host,
                "--insecure",
                "--format",
                "cosign-vuln",
                "--quiet",
                "--severity",
                ",".join(severities),
                "--exit-code",
                "0",
                *source,
            ],
            timeout=900,
        )


def image_source(reference: str, *, local: bool, layout: Path | None) -> list[str]:
    """The arguments that tell ``trivy image`` where the image is: an OCI layout folder
    (``--input``), the local Docker Engine, or the registry ``reference`` names."""
    if layout is not None:
        return ["--input", str(layout)]
    return ["--image-src", "docker" if local else "remote", reference]


def read_scan(text: str, reference: str, *, db_uri: str = "", db_version: str = "") -> ImageScan:
    """The findings of ``trivy image --format cosign-vuln`` output, its report, and the
    predicate with the DB named (when Trivy left it blank); ToolFailed when it is not one."""
    try:
        predicate = json.loads(text)
        result = predicate["scanner"]["result"]
        if db_uri and not any(predicate["scanner"].get("db", {}).values()):
            predicate["scanner"]["db"] = {"uri": db_uri, "version": db_version}
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise ToolFailed(
            f"trivy printed no readable cosign-vuln predicate for {reference}: {e}"
        ) from e
    try:
        report = parse_trivy_report(result)
    except ReportFormatError as e:
        raise ToolFailed(f"trivy printed no readable report for {reference}: {e}") from e
    return ImageScan(
        report=report,
        document=json.dumps(result, indent=2) + "\n",
        predicate=json.dumps(predicate, indent=2) + "\n",
    )


def read_report(text: str, reference: str) -> ScanReport:
    """The findings of ``trivy image --format json`` output; ToolFailed when it is not a
    report."""
    try:
        return parse_trivy_report(json.loads(text))
    except (json.JSONDecodeError, ReportFormatError) as e:
        raise ToolFailed(f"trivy printed no readable JSON report for {reference}: {e}") from e
