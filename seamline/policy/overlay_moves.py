"""The stale-run guard: which images a run may move in an overlay, decided per image.

A run moves only the images it changed: those whose reference differs from what the
overlay held when the run started (its baseline); an image it merely restates is left to
whatever a concurrent run has set since. An overlay records, per image, the source commit
whose build it pins, and a run may move an image only forward: when the pinned commit is
an ancestor of the run's commit (or nothing trustworthy is recorded). A run whose commit
is an ancestor of the pinned one is stale for that image; a commit from unrelated history
(a force-push, another repository) is refused unless the run is forced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

Relation = Literal["same", "ancestor", "descendant", "unrelated"]
Action = Literal["write", "unchanged", "stale", "unrelated"]


@dataclass(frozen=True)
class Pin:
    """What the overlay records for one image."""

    reference: str  # repository@digest
    source_commit: str
    source_repo: str = ""
    flow_run: str = ""


@dataclass(frozen=True)
class Move:
    image: str
    action: Action
    wanted: str
    pinned_commit: str | None

    def describe(self, run_commit: str) -> str:
        pinned = (self.pinned_commit or "?")[:12]
        if self.action == "stale":
            return (
                f"{self.image}: the overlay pins a build of {pinned}, which is newer than "
                f"this run's {run_commit[:12]}"
            )
        if self.action == "unrelated":
            return (
                f"{self.image}: the overlay pins a build of {pinned}, which is not in the "
                f"history of this run's {run_commit[:12]}"
            )
        return f"{self.image}: {self.action}"


def plan_moves(
    *,
    wanted: Mapping[str, str],
    baseline: Mapping[str, str],
    current: Mapping[str, str],
    pins: Mapping[str, Pin],
    run_commit: str,
    relation: Callable[[str, str], Relation],
    force: bool = False,
) -> list[Move]:
    """One ``Move`` per wanted image. ``baseline`` is the overlay as the run found it,
    ``current`` as it is now. ``relation(a, b)`` says how commit ``a`` relates to
    ``b`` ("ancestor": a is an ancestor of b). A pin counts only while the overlay still
    holds the reference it recorded (a hand edit since makes it void)."""
    moves = []
    for image, reference in sorted(wanted.items()):
        now = current.get(image)
        pin = pins.get(image)
        valid = pin if pin is not None and pin.reference == now else None
        pinned = valid.source_commit if valid else None
        if now == reference or baseline.get(image) == reference:
            action: Action = "unchanged"
        elif valid is None or force:
            action = "write"
        else:
            related = relation(valid.source_commit, run_commit)
            if related in ("ancestor", "same"):  # "same": a new build of it (a new base)
                action = "write"
            elif related == "descendant":
                action = "stale"
            else:
                action = "unrelated"
        moves.append(Move(image, action, reference, pinned))
    return moves


def refused(moves: list[Move]) -> list[Move]:
    return [m for m in moves if m.action in ("stale", "unrelated")]


def writes(moves: list[Move]) -> list[Move]:
    return [m for m in moves if m.action == "write"]
