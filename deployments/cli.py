"""The `seamline` command: human progress on stderr, `--json` results on stdout.

Exit codes: 0 ok, 1 gate or policy failure, 2 usage error, 3 environment problem.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from deployments.audit_command import add_parser as add_audit_parser
from deployments.flow_process import enter_prefect_environment, known_secrets
from deployments.init_command import add_parsers as add_onboarding_parsers
from deployments.promote_command import add_parser as add_promote_parser
from deployments.rescan_command import add_parser as add_rescan_parser
from deployments.verify_rebuild_command import add_parser as add_verify_rebuild_parser
from seamline.config.settings import Settings
from seamline.errors import SeamlineError, UsageError
from seamline.output.human import configure
from seamline.tools.pins import INSTALL_HINT

if TYPE_CHECKING:
    from seamline.stack.model import ComponentStatus

log = logging.getLogger("seamline.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seamline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show every tool's output")
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="each pinned tool's version against its pin")
    doctor.add_argument("--json", action="store_true")

    stack = sub.add_parser("stack", help="the embedded local stack")
    stack_sub = stack.add_subparsers(dest="action", required=True)
    for action, text in (
        ("up", "start everything (idempotent)"),
        ("status", "report each component"),
        ("down", "stop processes, keep data"),
    ):
        p = stack_sub.add_parser(action, help=text)
        p.add_argument("--json", action="store_true")
        if action == "down":
            p.add_argument("--purge", action="store_true", help="also delete all stack data")

    mirror = sub.add_parser("mirror", help="rebuild a mirror of the local stack")
    mirror_sub = mirror.add_subparsers(dest="what", required=True)
    trivy = mirror_sub.add_parser("trivy-db", help="rebuild the Trivy DB from the advisory list")
    trivy.add_argument("--json", action="store_true")

    smoke = sub.add_parser("smoke", help="check the stack from a Prefect flow run")
    smoke.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="run the CI flow on a repository")
    run.add_argument("--repo", help="source repository URL or path (default: the GitOps remote)")
    run.add_argument("--ref", default="main", help="branch, tag or commit (default: main)")
    run.add_argument("--event", choices=["push", "pull_request"], default="push")
    run.add_argument(
        "--overlay",
        default="",
        help="overlay to bump: a name under pipeline.overlay_root, and the one "
        "pipeline.branch_overlays maps the branch to (default: that one)",
    )
    run.add_argument(
        "--branch",
        default="",
        help="the branch the commit was pushed to, when --ref is a commit id "
        "(default: --ref, when it names a branch)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="move images even when the overlay pins builds from unrelated history",
    )
    run.add_argument("--json", action="store_true", help="one JSON object on stdout")
    run.add_argument(
        "--local",
        action="store_true",
        help="run the flow in this process, not on the stack's executors",
    )
    run.add_argument(
        "--tool-timings",
        metavar="FILE",
        help="append one JSON line per tool call (tool, task, service, seconds, ended) to "
        "FILE (runs in-process; every run keeps them in its evidence folder too)",
    )
    add_promote_parser(sub)
    add_rescan_parser(sub)
    add_verify_rebuild_parser(sub)
    add_audit_parser(sub)
    add_onboarding_parsers(sub)
    return parser


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _progress(message: str) -> None:
    log.info("%s", message)


def _print_statuses(statuses: list[ComponentStatus]) -> None:
    for s in statuses:
        mark = "ok " if s.healthy else "BAD"
        line = f"  [{mark}] {s.name:<15} {s.detail}"
        if not s.healthy and s.hint:
            line += f"\n        fix: {s.hint}"
        log.info("%s", line)


def _statuses_payload(statuses: list[ComponentStatus]) -> dict[str, Any]:
    return {
        "healthy": all(s.healthy for s in statuses),
        "components": [s.as_dict() for s in statuses],
    }


def _cmd_doctor(settings: Settings, as_json: bool) -> int:
    from seamline.stack.tool_pins_check import ToolchainCheck

    reports = ToolchainCheck(settings).reports()
    for r in reports:
        mark = "ok " if r.ok else "BAD"
        log.info(
            "  [%s] %-14s %-10s pin %-8s %s",
            mark,
            r.name,
            r.found or "missing",
            r.pinned,
            r.path or "",
        )
    if as_json:
        _emit(
            {
                "ok": all(r.ok for r in reports),
                "tools": [
                    {
                        "name": r.name,
                        "pinned": r.pinned,
                        "found": r.found,
                        "path": r.path,
                        "ok": r.ok,
                    }
                    for r in reports
                ],
            }
        )
    if not all(r.ok for r in reports):
        log.error("fix: %s", INSTALL_HINT)
        return 3
    return 0


def _cmd_stack(settings: Settings, args: argparse.Namespace) -> int:
    from seamline.stack.stack import Stack

    stack = Stack(settings)
    if args.action == "down":
        stack.down(purge=args.purge, progress=_progress)
        if args.json:
            _emit({"stopped": True, "purged": bool(args.purge)})
        return 0
    statuses = stack.up(progress=_progress) if args.action == "up" else stack.status()
    _print_statuses(statuses)
    if args.json:
        _emit(_statuses_payload(statuses))
    return 0 if all(s.healthy for s in statuses) else 3


def _cmd_mirror(settings: Settings, as_json: bool) -> int:
    from seamline.stack.trivy_mirror import TrivyDbMirror

    mirror = TrivyDbMirror(settings)
    digest = mirror.publish()
    log.info("published %s@%s", settings.trivy_db(), digest)
    if as_json:
        _emit({"reference": settings.trivy_db(), "digest": digest})
    return 0


def _cmd_smoke(settings: Settings, as_json: bool) -> int:
    enter_prefect_environment(settings)
    from flows.smoke import smoke  # imported late: Prefect reads its settings at import
    from seamline.stack.stack import Stack

    names = [c.name for c in Stack(settings).components]
    state = smoke(settings, names, return_state=True)
    run_id = str(state.state_details.flow_run_id)
    statuses: list[ComponentStatus] = state.result(raise_on_failure=True)
    url = f"{settings.prefect_ui_url}/runs/flow-run/{run_id}"
    _print_statuses(statuses)
    log.info("flow run: %s", url)
    if as_json:
        _emit({**_statuses_payload(statuses), "flow_run_id": run_id, "flow_run_url": url})
    return 0 if all(s.healthy for s in statuses) else 3


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure(verbose=args.verbose, secrets=[])
    try:
        try:
            settings = Settings()
        except ValidationError as e:
            raise UsageError(f"invalid settings: {e}", hint="check SEAMLINE_* variables") from e
        secrets = known_secrets(settings)
        configure(verbose=args.verbose, secrets=secrets)
        if args.command == "doctor":
            return _cmd_doctor(settings, args.json)
        if args.command == "stack":
            return _cmd_stack(settings, args)
        if args.command == "mirror":
            return _cmd_mirror(settings, args.json)
        if args.command == "run":
            from deployments.run_command import run_ci

            return run_ci(settings, args, secrets)
        if args.command == "promote":
            from deployments.promote_command import run_promote

            return run_promote(settings, args, secrets)
        if args.command == "rescan":
            from deployments.rescan_command import run_rescan

            return run_rescan(settings, args, secrets)
        if args.command == "verify-rebuild":
            from deployments.verify_rebuild_command import run_verify_rebuild

            return run_verify_rebuild(settings, args)
        if args.command == "init":
            from deployments.init_command import run_init

            return run_init(settings, args)
        if args.command == "check":
            from deployments.init_command import run_check

            return run_check(settings, args)
        if args.command == "audit":
            from deployments.audit_command import run_audit

            return run_audit(settings, args, secrets)
        return _cmd_smoke(settings, args.json)
    except SeamlineError as e:
        log.error("error: %s", e.diagnostics())
        if getattr(args, "json", False):
            _emit({"error": e.message, "hint": e.hint, "exit_code": e.exit_code})
        return e.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
