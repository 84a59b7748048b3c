"""Which checks block an untrusted run: the default branch's say, not the commit's.

A pull request (or a push that bumps no overlay) is code nobody has reviewed yet, and its
own seamline.toml could relax its gate. For such a run ``blocking_checks``,
``lint_new_findings_only`` and ``lint_config`` ([pipeline] and per service) come from the
default branch's seamline.toml, and a lint config file's text from the default branch;
when the default branch has no seamline.toml, the defaults apply (every check blocks,
every lint finding counts, no lint config).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from seamline.config.pipeline import CONFIG_NAME, PipelineConfig, PipelineSection, ServiceSpec
from seamline.errors import UsageError
from seamline.validate.repo_paths import inside

CHECK_KEYS = ("blocking_checks", "lint_new_findings_only", "lint_config")

# The default branch's name and the text of a file at its tip (None: not there).
DefaultBranchFile = Callable[[str], tuple[str, str | None]]


@dataclass(frozen=True)
class CheckRules:
    """The run's config with the default branch's check keys, and where they came from."""

    config: PipelineConfig
    source: str  # for the run log
    lint_notes: tuple[str, ...] = ()  # what became of each lint config file


def default_branch_table(read: DefaultBranchFile) -> tuple[str, dict[str, Any] | None]:
    """The default branch's name and its seamline.toml, parsed; None when it has none."""
    head, text = read(CONFIG_NAME)
    if text is None:
        return head, None
    try:
        return head, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(
            f"{CONFIG_NAME} on the default branch {head} is not valid TOML: {e}",
            hint="fix it on the default branch",
        ) from e


def _table(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def with_default_branch_checks(
    config: PipelineConfig, table: Mapping[str, Any] | None, *, head: str
) -> CheckRules:
    """``config`` with every check key as the default branch's seamline.toml (``table``)
    has it: a key it leaves out, or a service it does not list, gets the default."""
    section = _table(table.get("pipeline")) if table is not None else {}
    listed = table.get("services") if table is not None else None
    theirs = {
        s.get("name"): s
        for s in (listed if isinstance(listed, list) else [])
        if isinstance(s, Mapping)
    }
    fields = PipelineSection.model_fields
    pipeline_keys = {
        key: section.get(key, fields[key].get_default(call_default_factory=True))
        for key in CHECK_KEYS
    }
    try:
        pipeline = PipelineSection.model_validate({**config.pipeline.model_dump(), **pipeline_keys})
        services = [
            ServiceSpec.model_validate(
                {
                    **s.model_dump(),
                    **{key: _table(theirs.get(s.name)).get(key) for key in CHECK_KEYS},
                }
            )
            for s in config.services
        ]
    except ValidationError as e:
        raise UsageError(
            f"{CONFIG_NAME} on the default branch {head}: {e.errors()[0]['msg']}",
            hint="fix its check settings on the default branch",
        ) from e
    source = (
        f"the check settings of {CONFIG_NAME} on the default branch {head}"
        if table is not None
        else f"the default check settings (the default branch {head} has no {CONFIG_NAME}): "
        "every check blocks, every lint finding counts"
    )
    updated = config.model_copy(update={"pipeline": pipeline, "services": services})
    return CheckRules(config=updated, source=source)


def use_default_branch_lint_files(rules: CheckRules, read: DefaultBranchFile) -> CheckRules:
    """Each lint config the rules name, with the default branch's text written over the
    checkout's copy (a symlink there replaced by the file); a path the default branch does
    not hold is dropped (golangci-lint's own defaults then)."""
    config = rules.config
    named = {config.pipeline.lint_config, *(s.lint_config for s in config.services)}
    notes: list[str] = []
    found: set[str] = set()
    for path in sorted(p for p in named if p):
        head, text = read(path)
        if text is None:
            notes.append(f"lint config {path} is not on the default branch {head}: not used")
            continue
        _write_inside(config.root, path, text, source=f"{CONFIG_NAME} on {head}")
        found.add(path)
        notes.append(f"lint config {path} as on the default branch {head}")

    def kept(path: str | None) -> str | None:
        return path if path in found else None

    pipeline = config.pipeline.model_copy(update={"lint_config": kept(config.pipeline.lint_config)})
    services = [s.model_copy(update={"lint_config": kept(s.lint_config)}) for s in config.services]
    updated = config.model_copy(update={"pipeline": pipeline, "services": services})
    return CheckRules(config=updated, source=rules.source, lint_notes=tuple(notes))


def _write_inside(root: Path, relative: str, text: str, *, source: str) -> None:
    """``text`` as the regular file ``root/relative``: its folder must lie inside ``root``
    (every symlink resolved); a symlink at the file's own place is replaced, not followed."""
    pure = PurePosixPath(relative)
    if pure.name in ("", ".", ".."):
        raise UsageError(f"{source}: lint_config = {relative!r} names no file")
    folder = inside(root, str(pure.parent), what="lint_config", source=source)
    target = folder / pure.name
    if target.is_symlink():
        target.unlink()
    elif target.is_dir():
        raise UsageError(f"{source}: lint_config = {relative!r} is a folder in this commit")
    elif target.is_file() and target.read_bytes() == text.encode():
        return
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
