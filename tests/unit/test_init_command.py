"""`seamline init` and `seamline check` at the command line: what is written, what is
refused, and the exit codes (no tools needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deployments.cli import main
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT

WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild-repo"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEAMLINE_STATE_DIR", str(tmp_path / "state"))
    target = tmp_path / "repo"
    shutil.copytree(WILD, target)
    return target


def test_init_writes_a_config_that_loads_and_prints_it_as_json(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(repo), "--json"]) == 0
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert payload["written"] == str(repo / "seamline.toml")
    assert [s["name"] for s in payload["services"]] == [
        "cart",
        "checkout",
        "inventory",
        "email-sender",
    ]
    assert "sanitized from the folder name 'email_sender'" in err
    assert len(load_pipeline_config(repo).services) == 4


def test_init_keeps_an_existing_config_unless_forced(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "seamline.toml").write_text("# mine\n")
    assert main(["init", str(repo)]) == 2
    assert "exists" in capsys.readouterr().err
    assert (repo / "seamline.toml").read_text() == "# mine\n"
    assert main(["init", str(repo), "--force"]) == 0
    assert (repo / "seamline.toml").read_text().startswith("# Written by `seamline init`")


def test_init_of_a_missing_folder_is_exit_2(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "nowhere")]) == 2


def test_check_of_a_bad_config_is_exit_2_naming_the_setting(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(repo)]) == 0
    text = (repo / "seamline.toml").read_text()
    (repo / "seamline.toml").write_text(text.replace('"services/cart"', '"../outside"'))
    capsys.readouterr()
    assert main(["check", "--repo", str(repo), "--json"]) == 2
    out, err = capsys.readouterr()
    assert "services.cart.context" in err and "outside the repository" in err
    assert json.loads(out)["exit_code"] == 2


def test_check_without_a_config_is_exit_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--repo", str(repo)]) == 2
    assert "seamline.toml not found" in capsys.readouterr().err


def test_init_without_a_go_toolchain_leaves_the_bases_commented(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("SEAMLINE_TOOLS_DIR", str(empty))
    monkeypatch.setenv("PATH", str(empty))
    assert main(["init", str(repo), "--json"]) == 0
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert payload["base_images"] == {}
    static, golang = payload["upstream_bases"]
    assert static == "gcr.io/distroless/static:nonroot"
    assert golang.startswith("golang:1.26.5-alpine@sha256:")
    assert "the FROM lines are left for you to map" in err
    text = (repo / "seamline.toml").read_text()
    assert "# the Go toolchain was not found" in text
    assert '# "golang:1.26.5-alpine" = "127.0.0.1:5000/mirror/golang:1.26.5-alpine"' in text
    assert load_pipeline_config(repo).pipeline.base_images == {}
