"""Trivy: vulnerability scan of an image, as a JSON report, against a chosen DB repository."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seamline.errors import ToolFailed
from seamline.runner import run


@dataclass(frozen=True)
class TrivyScan:
    report: dict[str, Any]


class Trivy:
    def __init__(
        self, *, binary: Path, cache_dir: Path, db_repository: str, docker_host: str
    ) -> None:
        self._binary = binary
        self._docker_host = docker_host
        self._cache_dir = cache_dir
        self._db_repository = db_repository

    def scan_image(
        self,
        reference: str,
        *,
        severities: list[str],
        local: bool = False,
    ) -> TrivyScan:
        """Scan ``reference`` from its registry (or the local Docker Engine when ``local``).

        Findings decide nothing here (trivy exits 0 on them): the gate reads the report.
        """
        result = run(
            [
                str(self._binary),
                "image",
                "--cache-dir",
                str(self._cache_dir),
                "--db-repository",
                self._db_repository,
                "--skip-java-db-update",
                "--skip-version-check",
                "--scanners",
                "vuln",
                "--image-src",
                "docker" if local else "remote",
                "--docker-host",
                self._docker_host,
                "--insecure",
                "--format",
                "json",
                "--quiet",
                "--severity",
                ",".join(severities),
                "--exit-code",
                "0",
                reference,
            ],
            timeout=900,
            check=False,
        )
        if result.returncode != 0 or not result.stdout.strip():
            raise ToolFailed(
                f"trivy could not scan {reference} (exit {result.returncode})",
                returncode=result.returncode,
                stderr_tail=result.stderr[-2000:],
                hint="check the trivy DB mirror with `seamline stack status`",
            )
        try:
            report: dict[str, Any] = json.loads(result.stdout)
        except json.JSONDecodeError as e:
            raise ToolFailed(f"trivy printed no JSON report for {reference}: {e}") from e
        return TrivyScan(report=report)
