"""The CLI's exit codes and messages for bad input (no services needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deployments.cli import main
from seamline.policy.gate import GatePolicy


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--overlay", "Prod!", "--json"], "not a valid name"),
        (["--enforce", "--json"], "--output and --enforce go with --emit-policy"),
        (["--emit-policy", "kyverno", "--json"], "--emit-policy writes YAML"),
    ],
)
def test_audit_with_bad_arguments_is_exit_2_before_anything_runs(
    state: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["audit", *args]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["exit_code"] == 2 and message in payload["error"]


def test_audit_takes_one_overlay_or_all_not_both(state: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["audit", "--overlay", "dev", "--all"])
    assert caught.value.code == 2


def test_audit_emit_policy_writes_the_kyverno_policy_to_the_output_file(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from deployments import audit_command
    from seamline.overlay.rendered import WorkloadImage
    from seamline.run.audit_report import OverlayImages
    from tasks import audit

    image = "127.0.0.1:5000/bookstore/catalog@sha256:" + "c" * 64
    rendered = audit.RenderedOverlays(
        gitops_commit="e" * 40,
        registry="127.0.0.1:5000",
        gate=GatePolicy.from_strings(["HIGH,CRITICAL"]),
        service_repositories=("127.0.0.1:5000/bookstore/catalog",),
        overlays=(OverlayImages("dev", (WorkloadImage("Deployment/catalog", "catalog", image),)),),
    )
    asked: list[tuple[str, ...]] = []
    monkeypatch.setattr(audit_command, "preflight", lambda _s, names: asked.append(tuple(names)))
    monkeypatch.setattr(audit, "render_gitops_overlays", lambda _s, overlay: rendered)
    (tmp_path / "k.key").write_text("encrypted")
    (tmp_path / "k.pub").write_text("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
    monkeypatch.setenv("SEAMLINE_SIGNING_KEY", str(tmp_path / "k.key"))
    out = tmp_path / "policy.yaml"
    assert main(["audit", "--emit-policy", "kyverno", "--enforce", "-o", str(out)]) == 0
    assert asked == [("toolchain", "gitops-remote")]
    policy = yaml.safe_load(out.read_text())
    assert policy["spec"]["validationFailureAction"] == "Enforce"
    verify = policy["spec"]["rules"][0]["verifyImages"][0]
    assert verify["imageReferences"] == ["127.0.0.1:5000/bookstore/catalog*"]
    assert "MFkw" in verify["attestors"][0]["entries"][0]["keys"]["publicKeys"]
