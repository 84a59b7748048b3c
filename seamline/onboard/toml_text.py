"""The proposal as ``seamline.toml`` text, for a person to review: every guess is a comment
beside the value it produced."""

from __future__ import annotations

import json

from seamline.bases.mapping import example_line
from seamline.onboard.proposal import Proposal


def _q(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)


def _comments(lines: list[str], notes: tuple[str, ...] | list[str]) -> None:
    lines += [f"# {note}" for note in notes]


def render_toml(proposal: Proposal) -> str:
    """The text of the proposed seamline.toml; it loads with ``load_pipeline_config``."""
    lines = [
        "# Written by `seamline init` for review: check every value marked as guessed, then",
        "# run `seamline check` to see what a run would do.",
        "",
        "[pipeline]",
        "# guessed: the registry seamline's settings push to; set the one your images go to",
        f"registry = {_q(proposal.registry)}",
    ]
    if proposal.single_overlay:
        lines.append(
            "# guessed: a single top-level kustomization, so overlay_root is the overlay and "
            "default_overlay names it"
        )
    elif proposal.overlays:
        lines.append(f"# guessed: the folder holding the overlays {', '.join(proposal.overlays)}")
    else:
        lines.append("# guessed: no overlay found; point this at the folder holding them")
    lines.append(f"overlay_root = {_q(proposal.overlay_root)}")
    lines.append("# guessed: the first environment of the promotion order, or the first overlay")
    lines.append(f"default_overlay = {_q(proposal.default_overlay)}")
    lines.append('default_branch = "main"  # guessed: pushes to it bump default_overlay')
    if proposal.lint_config:
        lines.append("# found at the repository root")
        lines.append(f"lint_config = {_q(proposal.lint_config)}")
    if proposal.promotions:
        pairs = ", ".join(f"{_q(s)} = {_q(t)}" for s, t in proposal.promotions.items())
        lines.append("# guessed from the overlay names: which overlay's digests move into which")
        lines.append(f"promotions = {{ {pairs} }}")
    _comments(lines, [f"note: {n}" for n in proposal.notes])
    if proposal.unmatched_images:
        lines.append(
            "# images the manifests use that no Dockerfile here builds: "
            + ", ".join(proposal.unmatched_images)
        )
    lines += _adoption()
    lines += _base_images(proposal)
    for service in proposal.services:
        lines.append("")
        lines.append("[[services]]")
        _comments(lines, service.notes)
        lines.append(f"name = {_q(service.name)}")
        lines.append(f"context = {_q(service.context)}")
        lines.append(f"dockerfile = {_q(service.dockerfile)}")
        how = "used by the manifests" if service.matched else "guessed: no manifest uses it"
        lines.append(f"image = {_q(service.image)}  # {how}")
        lines.append(f"repository = {_q(service.repository)}  # in the registry above")
    return "\n".join(lines) + "\n"


def _adoption() -> list[str]:
    """The keys a code base with lint or vet debt adopts with, written for a person to
    choose: init does not run the checks, and a gate is not relaxed unasked."""
    return [
        "# Existing lint or vet findings fail the gate (README: Which checks block). To adopt",
        "# with debt, uncomment this to block only on lint findings newer than the source",
        "# commit the overlay records for each image, and leave the check that fails out of",
        '# a service\'s blocking_checks (e.g. blocking_checks = ["test"]) until its first',
        "# release has recorded one: those findings are then reported, not blocking.",
        "# lint_new_findings_only = true",
    ]


def _base_images(proposal: Proposal) -> list[str]:
    """``[pipeline.base_images]``: the stand-ins the stack's mirror serves for the bases
    the Dockerfiles pull; the others as commented lines to complete."""
    mapped, upstream = proposal.bases.mapped, proposal.bases.unmapped
    if not mapped and not upstream:
        return []
    lines = ["", "[pipeline.base_images]"]
    if mapped:
        lines.append("# the upstream bases the Dockerfiles pull, each to the stand-in that")
        lines.append(
            "# `seamline stack up` serves under mirror/ (offline: no Docker Hub, no gcr.io)"
        )
        lines += [f"{_q(key)} = {_q(mirror)}" for key, mirror in mapped.items()]
    if upstream:
        why = (
            "no stand-in of the mirror serves these"
            if proposal.stand_ins_known
            else "the Go toolchain was not found, so the mirror's tags are unknown"
        )
        lines.append(f"# {why}: map each to a mirror of yours, or load it into the builder")
        lines += [f"# {example_line(reference, proposal.registry)}" for reference in upstream]
    return lines
