"""What a run's cache keys are made of beyond each task's own arguments.

Resolved once, by the preflight, before any stage runs: base-image and Trivy-DB digests
from the registry, source hashes from the checkout, the signer, the gate policy and the
date. Cache keys are then pure functions of these values and the task's arguments; a
registry that blips fails the preflight (and is retried there) instead of silently
running a task without a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Trust = Literal["trusted", "untrusted"]


@dataclass(frozen=True)
class RunInputs:
    tool_versions: dict[str, str]
    sources: dict[str, str]  # service -> hash of its context folder
    dockerfiles: dict[str, str]  # service -> hash of its Dockerfile (it may live elsewhere)
    # service -> hash of its check settings: which checks block, new findings only, and
    # the text of its lint config
    checks: dict[str, str]
    build_args: dict[str, str]
    base_images: dict[str, str]  # reference -> digest ("" for upstream references)
    trivy_db: str  # the Trivy DB's manifest digest, or its reference when not mirrored
    gate: str  # hash of the gate policy: severities, ignore-unfixed, allow-list text
    today: str  # ISO date; allow-list entries expire by date
    # The run's trust class: checks of untrusted code (pull requests, unmapped branches)
    # never share a build cache or a cached verdict with trusted runs.
    trust: Trust
    signer: str = ""  # who signs (empty for runs that sign nothing)
    sandbox_image: str = ""  # the image the build-test checks run in
    # service -> the source commit new lint findings are counted from: the one the overlay
    # records for its image (only for services with new findings only; none: every finding
    # is new)
    lint_baselines: dict[str, str] = field(default_factory=dict)
