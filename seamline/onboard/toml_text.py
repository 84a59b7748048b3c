"""The proposal as ``seamline.toml`` text, for a person to review: every guess is a comment
beside the value it produced."""

from __future__ import annotations

import json

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
