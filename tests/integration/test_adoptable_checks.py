"""Checks a team can adopt, end to end on the real stack: a repository with lint debt
releases while lint does not block, then blocks on new lint findings only (counted from the
commit the overlay records), and a failing test is named in the gate message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seamline.config.settings import Settings
from tests.integration.conftest import run_logs
from tests.integration.test_trust_boundaries import commit_change, repo_copy, run, seed

# unconvert: a conversion of an int to int (the Bookstore's lint config enables it).
OLD_DEBT = (
    "package main\n\n// debtTotal is old debt.\nfunc debtTotal(n int) int { return int(n) }\n"
)
NEW_DEBT = "package main\n\n// newDebt is new debt.\nfunc newDebt(n int) int { return int(n) }\n"
USES = (
    'package main\n\nimport "testing"\n\n'
    "func TestDebtIsUsed(t *testing.T) {\n\tif debtTotal(1)+newDebt(1) != 2 {\n"
    '\t\tt.Fatal("sum")\n\t}\n}\n'
)


def _message(payload: dict[str, Any]) -> str:
    return next(e["message"] for e in payload["errors"] if e["stage"] == "build-test")


def test_old_lint_debt_is_reported_and_new_debt_blocks(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    (source / "app" / "catalog" / "debt.go").write_text(OLD_DEBT)
    config = source / "seamline.toml"
    text = config.read_text()
    config.write_text(
        text.replace(
            'lint_config = ".golangci.yml"',
            'lint_config = ".golangci.yml"\nblocking_checks = ["vet", "test"]',
        )
    )
    remote = seed(source, tmp_path)
    code, payload, stderr = run(remote)
    assert code == 0, stderr  # the debt is there, lint does not block: released
    logs = run_logs(settings, payload["flow_run_id"], expect="does not block")
    assert "golangci-lint failed (does not block)" in logs
    assert "app/catalog/debt.go:4" in logs

    # Now lint blocks, on new findings only: the debt is older than the recorded commit.
    commit_change(
        remote,
        tmp_path,
        "seamline.toml",
        text.replace(
            'lint_config = ".golangci.yml"',
            'lint_config = ".golangci.yml"\nlint_new_findings_only = true',
        ),
    )
    code, payload, stderr = run(remote)
    assert code == 0, stderr
    logs = run_logs(settings, payload["flow_run_id"], expect="do not block")
    assert "app/catalog/debt.go:4" in logs

    commit_change(remote, tmp_path, "app/catalog/newdebt.go", NEW_DEBT)
    commit_change(remote, tmp_path, "app/catalog/debt_test.go", USES)
    code, payload, stderr = run(remote)
    assert code == 1, stderr
    blocking, *reported = _message(payload).splitlines()  # "catalog: golangci-lint failed: ..."
    assert "golangci-lint failed: new since" in blocking and "unconvert" in blocking
    assert "app/catalog/newdebt.go:4" in blocking and "app/catalog/debt.go" not in blocking
    assert any("app/catalog/debt.go:4" in line for line in reported)  # still shown


def test_a_failing_test_is_named_in_the_gate_message(
    stack_up: dict[str, Any], tmp_path: Path
) -> None:
    source, _ = repo_copy(tmp_path)
    (source / "app" / "orders" / "fails_test.go").write_text(
        'package main\n\nimport "testing"\n\n'
        'func TestAlwaysFails(t *testing.T) { t.Fatal("the order total is wrong") }\n'
    )
    code, payload, stderr = run(seed(source, tmp_path))
    assert code == 1, stderr
    message = _message(payload)
    assert "go test failed: 1 test(s) failed" in message
    assert "TestAlwaysFails: fails_test.go:5: the order total is wrong" in message
