"""The stale-run guard, decided per image over a recorded history."""

from __future__ import annotations

import pytest

from seamline.policy.overlay_moves import Pin, Relation, plan_moves, refused, writes

# A line of history: c0 <- c1 <- c2; x is from unrelated history.
ORDER = ["c0", "c1", "c2"]
REPO = "127.0.0.1:5000/app"


def relation(older: str, newer: str) -> Relation:
    if older == newer:
        return "same"
    if older in ORDER and newer in ORDER:
        return "ancestor" if ORDER.index(older) < ORDER.index(newer) else "descendant"
    return "unrelated"


def ref(n: int) -> str:
    return f"{REPO}@sha256:{n:064x}"


def plan(run: str, pinned: str | None, *, wanted: int = 2, current: int = 1, force: bool = False):
    pins = {"app": Pin(reference=ref(current), source_commit=pinned)} if pinned else {}
    return plan_moves(
        wanted={"app": ref(wanted)},
        baseline={"app": ref(current)},
        current={"app": ref(current)},
        pins=pins,
        run_commit=run,
        relation=relation,
        force=force,
    )[0]


@pytest.mark.parametrize(
    ("run", "pinned", "action"),
    [
        ("c2", "c1", "write"),  # forward
        ("c1", "c2", "stale"),  # backwards: refused
        ("c1", "c1", "write"),  # a new build of the same commit (a re-mirrored base)
        ("x", "c1", "unrelated"),  # force-push or another repository
        ("c1", None, "write"),  # nothing recorded: nothing to protect
    ],
)
def test_moves(run: str, pinned: str | None, action: str) -> None:
    assert plan(run, pinned).action == action


def test_unchanged_reference_is_left_alone_even_when_stale() -> None:
    assert plan("c1", "c2", wanted=1).action == "unchanged"


def test_force_moves_unrelated_and_stale() -> None:
    assert plan("x", "c1", force=True).action == "write"
    assert plan("c0", "c2", force=True).action == "write"


def test_a_hand_edit_voids_the_pin() -> None:
    moves = plan_moves(
        wanted={"app": ref(2)},
        baseline={"app": ref(9)},
        current={"app": ref(9)},  # someone set the overlay by hand since
        pins={"app": Pin(reference=ref(1), source_commit="c2")},
        run_commit="c1",
        relation=relation,
    )
    assert moves[0].action == "write"


def test_each_image_on_its_own() -> None:
    moves = plan_moves(
        wanted={"a": ref(2), "b": ref(3), "c": ref(4)},
        baseline={"a": ref(1), "b": ref(1), "c": ref(1)},
        current={"a": ref(1), "b": ref(1), "c": ref(4)},
        pins={
            "a": Pin(reference=ref(1), source_commit="c0"),
            "b": Pin(reference=ref(1), source_commit="c2"),
        },
        run_commit="c1",
        relation=relation,
    )
    assert [m.action for m in moves] == ["write", "stale", "unchanged"]
    assert [m.image for m in writes(moves)] == ["a"]
    assert [m.image for m in refused(moves)] == ["b"]
    assert "newer than this run's c1" in refused(moves)[0].describe("c1")


def test_an_image_the_run_only_restates_is_left_to_a_newer_run() -> None:
    """Two runs started from the same overlay: c2 (newer) landed first and moved both
    images; c1 changed only "a", to what c2 also has. c1 leaves "b" alone."""
    moves = plan_moves(
        wanted={"a": ref(2), "b": ref(1)},
        baseline={"a": ref(1), "b": ref(1)},
        current={"a": ref(2), "b": ref(3)},
        pins={
            "a": Pin(reference=ref(2), source_commit="c2"),
            "b": Pin(reference=ref(3), source_commit="c2"),
        },
        run_commit="c1",
        relation=relation,
    )
    assert [m.action for m in moves] == ["unchanged", "unchanged"]
    assert refused(moves) == []
