"""A new advisory against what is deployed, end to end on the real stack: the re-scan flags
and blocks the digests, promotion refuses them; once the DB knows a fixed version the
re-scan lifts the block and promotion passes. Each re-scan leaves its scan on every digest as
a signed ``vuln`` attestation, read here the way a third party would: stock cosign with the
stack's public key.

The advisory is a test fixture naming the Go standard library of the deployed images (the
only package they hold); it goes into a copy of mirror/advisories.json built into a DB of
its own, so the stack's own DB and other tests never see it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from seamline.adapters.git_repo import seed_bare_remote
from seamline.adapters.go_toolchain import GoToolchain
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.tools.pins import locate
from tests.integration.conftest import seamline

ADVISORY = {
    "id": "CVE-2099-0001",
    "ecosystem": "go",
    "package": "stdlib",
    "severity": "HIGH",
    "title": "test fixture: a flaw in the Go standard library the Bookstore images carry",
    "description": "A fixture advisory for seamline's re-scan test; not a real flaw.",
}


def _go_version() -> str:
    """The Go version the stack builds images with (their stdlib's)."""
    return GoToolchain.located(Settings().tools_dir).version()


def _advisories(folder: Path, *, vulnerable: str, patched: str) -> Path:
    entries = json.loads((PROJECT_ROOT / "mirror" / "advisories.json").read_text())
    entries.append({**ADVISORY, "vulnerable_versions": [vulnerable], "patched_versions": [patched]})
    path = folder / "advisories.json"
    path.write_text(json.dumps(entries, indent=1))
    return path


@pytest.fixture(scope="module")
def released(stack_up: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    remote = tmp_path_factory.mktemp("advisory") / "bookstore.git"
    seed_bare_remote(PROJECT_ROOT / "examples" / "bookstore", remote, branch="main", message="s")
    env = dict(os.environ, SEAMLINE_GITOPS_REMOTE=str(remote))
    result = seamline("run", "--repo", str(remote), "--json", env=env)
    assert result.returncode == 0, result.stderr
    return remote


def _attested_advisories(reference: str) -> set[str]:
    """The vulnerability ids of the latest scan attested on ``reference``, read with stock
    cosign (``verify-attestation --type vuln``) and the stack's public key."""
    settings = Settings()
    verified = subprocess.run(
        [
            str(locate("cosign", settings.tools_dir)),
            "verify-attestation",
            "--type",
            "vuln",
            "--key",
            settings.signing_public_key_ref(),
            "--insecure-ignore-tlog=true",
            "--allow-http-registry",
            "--output",
            "json",
            reference,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    statements = [
        json.loads(base64.b64decode(json.loads(line)["payload"]))
        for line in verified.stdout.splitlines()
        if line.startswith("{")
    ]
    assert statements and all(
        s["predicateType"] == "https://cosign.sigstore.dev/attestation/vuln/v1" for s in statements
    )
    digest = reference.partition("@")[2].removeprefix("sha256:")
    assert all(digest in [x["digest"]["sha256"] for x in s["subject"]] for s in statements)
    latest = max(statements, key=lambda s: s["predicate"]["metadata"]["scanFinishedOn"])
    results = latest["predicate"]["scanner"]["result"].get("Results") or []
    return {v["VulnerabilityID"] for r in results for v in r.get("Vulnerabilities") or []}


def _check_details(payload: dict[str, Any], check: str) -> list[str]:
    return [
        failure["detail"]
        for error in payload["errors"]
        for failure in error.get("details", {}).get("failures", [])
        if failure["check"] == check
    ]


def _run(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    result = seamline(*args, "--json", env=env)
    return result.returncode, json.loads(result.stdout), result.stderr


def test_a_new_advisory_blocks_promotion_until_the_db_knows_the_fix(
    released: Path, tmp_path: Path
) -> None:
    version = _go_version()  # e.g. 1.26.8: the advisory names everything up to it
    major, minor, patch = (int(p) for p in version.split(".")[:3])
    env = dict(
        os.environ,
        SEAMLINE_GITOPS_REMOTE=str(released),
        SEAMLINE_TRIVY_DB_REPOSITORY=f"{Settings().registry}/seamline/trivy-db-advisory-test:1",
    )
    try:
        # 1. the advisory arrives: every version up to the deployed one is vulnerable
        next_patch = f"{major}.{minor}.{patch + 1}"
        env["SEAMLINE_TRIVY_ADVISORIES"] = str(
            _advisories(tmp_path, vulnerable=f"< {next_patch}", patched=next_patch)
        )
        built = seamline("mirror", "trivy-db", "--json", env=env)
        assert built.returncode == 0, built.stderr
        code, scanned, stderr = _run(env, "rescan")
        assert code == 1, stderr
        assert scanned["digests"] and all(d["blocked"] for d in scanned["digests"]), scanned
        assert all(any(ADVISORY["id"] in f for f in d["new"]) for d in scanned["digests"])
        for digest in scanned["digests"]:  # the record anyone can check: a signed vuln scan
            assert ADVISORY["id"] in _attested_advisories(digest["reference"])
        code, refused, stderr = _run(env, "promote", "--from", "dev", "--to", "staging")
        assert code == 1, stderr
        assert refused.get("commit") is None
        assert "rescan-block" in json.dumps(refused) + stderr
        details = _check_details(refused, "rescan-block")
        assert details and all(
            d.startswith("latest vuln attestation (scanned ") and ADVISORY["id"] in d
            for d in details
        ), details

        # 2. the DB learns that the deployed version was never affected (fixed before it)
        fixed = tmp_path / "fixed"
        fixed.mkdir()
        first = f"{major}.{minor}.0"
        env["SEAMLINE_TRIVY_ADVISORIES"] = str(
            _advisories(fixed, vulnerable=f"< {first}", patched=first)
        )
        built = seamline("mirror", "trivy-db", "--json", env=env)
        assert built.returncode == 0, built.stderr
        code, cleared, stderr = _run(env, "rescan")
        assert code == 0, stderr
        assert not any(d["blocked"] for d in cleared["digests"]), cleared
        assert all(any(ADVISORY["id"] in f for f in d["fixed"]) for d in cleared["digests"])
        for digest in cleared["digests"]:  # the newer scan replaced the one that blocked
            assert ADVISORY["id"] not in _attested_advisories(digest["reference"])
        code, promoted, stderr = _run(env, "promote", "--from", "dev", "--to", "staging")
        assert code == 0, stderr
        assert promoted["commit"] is not None
    finally:
        # whatever happened: a re-scan with the stack's own DB lifts any block left behind
        plain = {k: v for k, v in env.items() if not k.startswith("SEAMLINE_TRIVY_")}
        seamline("rescan", "--json", env=plain)
