"""The bump's precondition, as a pure check: every service has a verified digest."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from seamline.errors import GateFailure

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ServiceOutcome:
    service: str
    image: str  # the name the kustomize manifests use
    repository: str  # registry/repository
    digest: str | None  # None unless signed and verified
    error: str | None = None


def require_verified_digests(outcomes: Sequence[ServiceOutcome]) -> dict[str, str]:
    """kustomize image name → ``repository@digest``; GateFailure naming every gap."""
    if not outcomes:
        raise GateFailure("no services to bump", hint="list services in seamline.toml")
    problems = []
    for outcome in outcomes:
        if outcome.digest is None:
            problems.append(f"{outcome.service}: no verified digest ({outcome.error or 'failed'})")
        elif not DIGEST.match(outcome.digest):
            problems.append(f"{outcome.service}: {outcome.digest!r} is not a sha256 digest")
    if problems:
        raise GateFailure(
            "refusing to bump the overlay: " + "; ".join(problems),
            hint="fix the failing services; the overlay changes only when every service passes",
        )
    return {o.image: f"{o.repository}@{o.digest}" for o in outcomes}
