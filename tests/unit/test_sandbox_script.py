"""The sandbox's checks script: side by side when its module is the only one being
checked, one after another otherwise (the build compiles once, vet and test reuse it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from seamline.adapters.go_sandbox import _Running, checks_script


def _check_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith(("check ", "{ check"))]


def _names(lines: list[str]) -> list[str]:
    return [line.removeprefix("{ ").split()[1] for line in lines]


def test_side_by_side_runs_every_check_in_the_background() -> None:
    lines = _check_lines(checks_script(lint_config=None, new_from_patch=True))
    assert _names(lines) == ["build", "vet", "lint", "test"]
    assert all(line.endswith("&") for line in lines)


def test_one_after_another_starts_each_check_when_the_last_ended() -> None:
    lines = _check_lines(
        checks_script(lint_config="/src/.golangci.yml", new_from_patch=True, side_by_side=False)
    )
    assert _names(lines) == ["build", "vet", "lint", "test"]
    assert not any(line.rstrip().endswith("&") for line in lines)
    assert "--new-from-patch" in lines[2] and "/src/.golangci.yml" in lines[2]


def test_both_scripts_are_valid_shell(tmp_path: Path) -> None:
    for side_by_side in (True, False):
        script = checks_script(lint_config=None, new_from_patch=False, side_by_side=side_by_side)
        (tmp_path / "checks.sh").write_text(script)
        assert subprocess.run(["sh", "-n", str(tmp_path / "checks.sh")]).returncode == 0


def test_only_the_first_of_concurrent_sandboxes_is_alone() -> None:
    with _Running() as first:
        with _Running() as second:
            assert (first, second) == (True, False)
    with _Running() as again:
        assert again
