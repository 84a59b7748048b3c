"""`seamline init [PATH]`: propose a seamline.toml for a repository (its services, the
images its manifests use, its overlays) and write it for review; `seamline check [--repo
PATH]`: what a run would do with a repository's config, without building.

Both run in this process and start no flow. Human output goes to stderr, ``--json`` to
stdout. Exit 0 ok, 2 for a bad path or config (or an existing seamline.toml without
``--force``), 3 when a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seamline.errors import UsageError

if TYPE_CHECKING:  # discovery and the pipeline config load when init or check runs
    from seamline.config.settings import Settings
    from seamline.onboard.proposal import Proposal

log = logging.getLogger("seamline.cli")


def add_parsers(sub: Any) -> None:
    """The `init` and `check` subcommands' arguments."""
    init = sub.add_parser(
        "init", help="discover a repository's services and overlays; write a seamline.toml"
    )
    init.add_argument("path", nargs="?", default=".", help="the repository (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite an existing seamline.toml")
    init.add_argument("--json", action="store_true", help="print the proposal as JSON on stdout")
    check = sub.add_parser(
        "check", help="validate a repository's seamline.toml; show what a run would do"
    )
    check.add_argument("--repo", default=".", help="the repository (default: here)")
    check.add_argument(
        "--branch",
        default="",
        help="the branch to report for (default: the one checked out in --repo)",
    )
    check.add_argument("--json", action="store_true", help="one JSON object on stdout")


def repository_folder(path: str) -> Path:
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise UsageError(f"{path} is not a folder", hint="pass the repository's folder")
    return folder


def _log_proposal(proposal: Proposal) -> None:
    for s in proposal.services:
        matched = "" if s.matched else " (guessed: no manifest uses it)"
        path = s.dockerfile if s.context == "." else f"{s.context}/{s.dockerfile}"
        log.info("  %s: %s -> image %s%s", s.name, path, s.image, matched)
        for note in s.notes:
            log.info("      note: %s", note)
    overlays = "itself the one overlay" if proposal.single_overlay else ", ".join(proposal.overlays)
    log.info(
        "  overlays: %s (%s); default %s",
        proposal.overlay_root,
        overlays or "none found",
        proposal.default_overlay,
    )
    for note in proposal.notes:
        log.info("  note: %s", note)
    if proposal.unmatched_images:
        log.info("  images no Dockerfile builds: %s", ", ".join(proposal.unmatched_images))
    for key, mirror in proposal.bases.mapped.items():
        log.info("  base image %s -> the stack's stand-in %s", key, mirror)
    if proposal.bases.unmapped:
        log.info("  base images left upstream: %s", ", ".join(proposal.bases.unmapped))


def _stand_ins(settings: Settings) -> dict[str, str] | None:
    """The ``[pipeline.base_images]`` keys the stack's mirror serves, None (logged) when the
    Go toolchain that names their tags is not found."""
    from seamline.adapters.go_toolchain import GoToolchain
    from seamline.bases.stand_ins import default_mapping
    from seamline.errors import SeamlineError

    try:
        go = GoToolchain.located(settings.tools_dir).version()
    except SeamlineError as e:
        log.warning("  base images: %s; the FROM lines are left for you to map", e.message)
        return None
    return default_mapping(settings.registry, go)


def run_init(settings: Settings, args: argparse.Namespace) -> int:
    from seamline.config.pipeline import CONFIG_NAME, load_pipeline_config
    from seamline.onboard.proposal import propose
    from seamline.onboard.toml_text import render_toml

    root = repository_folder(args.path)
    target = root / CONFIG_NAME
    if target.is_symlink():
        raise UsageError(f"{target} is a symlink", hint="remove it; init writes a regular file")
    if target.exists() and not args.force:
        raise UsageError(
            f"{target} exists", hint="review it and run `seamline check`, or rerun with --force"
        )
    proposal = propose(root, registry=settings.registry, stand_ins=_stand_ins(settings))
    _log_proposal(proposal)
    target.write_text(render_toml(proposal), encoding="utf-8")
    load_pipeline_config(root)  # what it wrote must load, or it says why now
    log.info("wrote %s: review the guessed values, then run `seamline check`", target)
    if args.json:
        payload = {**proposal.to_json(), "written": str(target)}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    return 0


def run_check(settings: Settings, args: argparse.Namespace) -> int:
    from deployments.check_preview import preview_run

    preview = preview_run(settings, repository_folder(args.repo), branch=args.branch)
    for line in preview.lines():
        log.info("%s", line)
    if args.json:
        sys.stdout.write(json.dumps(preview.to_json(), indent=2) + "\n")
    return 0
