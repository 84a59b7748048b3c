"""A run's outcome as the process that started it needs it: the ``--json`` payload, the
exit code and the human summary, kept on the flow run as the artifact ``seamline-outcome``.

An in-process run prints these itself; a run on an executor leaves them on the flow run, and
``seamline run``, ``promote`` or ``rescan`` reads them back, so both paths print the same
thing and exit alike. The flow run's artifacts are visible in the UI: every secret the
process knows (``mask_secrets``) is masked in an outcome before it is written or printed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seamline.errors import SeamlineError
from seamline.output.redaction import redact
from seamline.run.report import RunReport

OUTCOME_KEY = "seamline-outcome"
FENCE = "```json"
_MASKED: list[str] = []


def mask_secrets(secrets: Sequence[str]) -> None:
    """The secrets this process knows, masked in every outcome it writes or prints."""
    _MASKED[:] = [s for s in secrets if s]


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value, _MASKED)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class RunOutcome:
    payload: dict[str, Any]
    exit_code: int
    summary: tuple[str, ...]
    failed: bool = False

    @classmethod
    def for_report(cls, report: RunReport) -> RunOutcome:
        return cls(
            payload=report.to_json(),
            exit_code=report.exit_code,
            summary=tuple(summary_lines(report)),
        )

    @classmethod
    def for_error(cls, error: SeamlineError) -> RunOutcome:
        payload = {"error": error.message, "hint": error.hint, "exit_code": error.exit_code}
        return cls(
            payload=payload,
            exit_code=error.exit_code,
            summary=(f"error: {error.diagnostics()}",),
            failed=True,
        )

    def to_markdown(self) -> str:
        body = json.dumps(
            {
                "payload": _masked(self.payload),
                "exit_code": self.exit_code,
                "summary": _masked(list(self.summary)),
                "failed": self.failed,
            },
            indent=2,
        )
        return f"### What the command printed (exit {self.exit_code})\n\n{FENCE}\n{body}\n```\n"

    def to_json(self) -> str:
        """The ``--json`` document, as every path prints it."""
        return json.dumps(_masked(self.payload), indent=2) + "\n"

    @classmethod
    def from_artifact(cls, artifact: dict[str, Any]) -> RunOutcome | None:
        text = artifact.get("data")
        if not isinstance(text, str) or FENCE not in text:
            return None
        body = text.split(FENCE, 1)[1].rsplit("```", 1)[0]
        try:
            data = json.loads(body)
            return cls(
                payload=dict(data["payload"]),
                exit_code=int(data["exit_code"]),
                summary=tuple(str(line) for line in data["summary"]),
                failed=bool(data.get("failed", False)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def print_summary(self, log: logging.Logger) -> None:
        for line in self.summary:
            (log.error if self.failed or line.lstrip().startswith("error") else log.info)(line)


def summary_lines(report: RunReport) -> list[str]:
    """What a person reads on stderr when the run ends: one line per service, then errors."""
    lines = []
    for s in report.services:
        counts = " ".join(f"{k[0]}{v}" for k, v in (s.findings or {}).items()) or "-"
        digest = s.digest or "(no digest)"
        cached = " (cached)" if s.cached else ""
        lines.append(f"  {s.name:<16} gate {s.gate:<7} findings {counts:<16} {digest}{cached}")
    for e in report.errors:
        lines.append(f"  error: {f'{e.service}: ' if e.service else ''}{e.stage}: {e.message}")
    lines.append(f"commit: {report.commit or 'none'}")
    lines.append(f"flow run: {report.flow_run_url}")
    return lines
