"""The CLI's exit codes and messages for bad input (no services needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deployments.cli import main


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "state"
    monkeypatch.setenv("SEAMLINE_STATE_DIR", str(folder))
    return folder


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["stack", "sideways"])
    assert caught.value.code == 2


def test_corrupt_state_file(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state.mkdir()
    (state / "state.json").write_text("{not json")
    assert main(["stack", "status", "--json"]) == 3
    out, err = capsys.readouterr()
    assert "unreadable" in err and "stack down --purge" in err
    assert json.loads(out)["exit_code"] == 3


def test_state_path_is_a_file(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state.write_text("oops")
    assert main(["stack", "up"]) == 3
    assert "is not a folder" in capsys.readouterr().err


def test_purge_recovers_corrupt_state(state: Path) -> None:
    state.mkdir()
    (state / "state.json").write_text("garbage")
    (state / "pids").mkdir()
    (state / "pids" / "registry.pid").write_text("xyz")
    assert main(["stack", "down", "--purge"]) == 0
    assert not state.exists()


def test_missing_tools_exit_3(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("SEAMLINE_TOOLS_DIR", str(empty))
    monkeypatch.setenv("PATH", os.path.dirname(os.__file__))
    assert main(["doctor", "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"]
    assert {t["name"] for t in report["tools"] if t["found"] is None} >= {"trivy", "cosign"}


def test_invalid_setting_is_usage_error(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEAMLINE_REGISTRY_PORT", "99999")
    assert main(["stack", "status"]) == 2
    assert "SEAMLINE_" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "dev", "--to", "Staging!"],
        ["--from", "dev/../x", "--to", "staging"],
        ["--from", "dev", "--to", "staging", "--services", "orders,Bad Name"],
        ["--from", "dev", "--to", "Staging!", "--pr"],
    ],
)
def test_promote_with_a_bad_name_is_exit_2_before_anything_runs(
    state: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["promote", *args, "--json"]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["exit_code"] == 2 and "not a valid name" in payload["error"]
