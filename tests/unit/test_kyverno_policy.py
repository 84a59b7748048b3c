"""`seamline audit --emit-policy kyverno`: a ClusterPolicy that parses as YAML, trusts
exactly the configured key (its PEM text, a KMS URI, or a keyless identity), requires the
SBOM, provenance and vulnerability-scan attestations (the scan without findings at the
gate's severities, counted over trivy's recorded cosign-vuln predicate's path), and matches
the images the overlays render."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.errors import StateCorrupt, UsageError
from seamline.overlay.rendered import rendered_images
from seamline.policy.gate import GatePolicy
from tasks import audit
from tests.unit.fakes import DATA, RecordedEditor, WorkTreeRemote

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
RENDERED = "dev-catalog-orders-set.yaml"  # two images by digest, two by tag
PUBLIC = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM\n"
    "5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==\n"
    "-----END PUBLIC KEY-----\n"
)


@pytest.fixture
def rendered(tmp_path: Path) -> audit.RenderedOverlays:
    folder = tmp_path / "gitops"
    shutil.copytree(BOOKSTORE, folder)
    return audit.read_overlays(
        WorkTreeRemote(folder),
        RecordedEditor(RENDERED),
        tmp_path / "look",
        overlay="",
        gate_of=lambda _config: GatePolicy.from_strings(["HIGH,CRITICAL"]),
    )


def _key_settings(tmp_path: Path, public: str = PUBLIC) -> Settings:
    (tmp_path / "release.key").write_text("encrypted")
    (tmp_path / "release.pub").write_text(public)
    return Settings(state_dir=tmp_path / "state", signing_key=str(tmp_path / "release.key"))


def _rule(text: str) -> dict[str, Any]:
    policy = yaml.safe_load(text)
    assert (policy["apiVersion"], policy["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    (rule,) = policy["spec"]["rules"]
    assert rule["match"] == {"any": [{"resources": {"kinds": ["Pod"]}}]}
    (verify,) = rule["verifyImages"]
    return dict(verify, action=policy["spec"]["validationFailureAction"])


def test_key_mode_trusts_the_configured_public_key_for_signature_and_attestations(
    tmp_path: Path, rendered: audit.RenderedOverlays
) -> None:
    verify = _rule(audit.kyverno_policy(_key_settings(tmp_path), rendered, enforce=False))
    assert verify["action"] == "Audit"
    assert (verify["mutateDigest"], verify["verifyDigest"], verify["required"]) == (
        False,  # Kyverno refuses mutateDigest in Audit mode
        True,
        True,
    )
    expected = [{"entries": [{"keys": {
        "publicKeys": PUBLIC,
        "rekor": {"url": "https://rekor.sigstore.dev", "ignoreTlog": True},
    }}]}]  # fmt: skip
    assert verify["attestors"] == expected
    assert [(a["type"], a["attestors"]) for a in verify["attestations"]] == [
        ("https://spdx.dev/Document", expected),
        ("https://slsa.dev/provenance/v1", expected),
        ("https://cosign.sigstore.dev/attestation/vuln/v1", expected),
    ]


def test_the_image_references_match_every_image_the_overlays_render_and_nothing_else(
    tmp_path: Path, rendered: audit.RenderedOverlays
) -> None:
    verify = _rule(audit.kyverno_policy(_key_settings(tmp_path), rendered, enforce=False))
    patterns = verify["imageReferences"]
    assert patterns == [
        f"127.0.0.1:5000/bookstore/{s}*"
        for s in ("catalog", "orders", "payments-worker", "storefront")
    ]
    written = rendered_images((DATA / "kustomize" / RENDERED).read_text(), overlay="dev")
    for image in written:  # by digest and by tag, as the overlays write them
        assert any(fnmatch.fnmatchcase(image.image, p) for p in patterns), image
    for foreign in ("docker.io/library/busybox:1", "127.0.0.1:5000/other/app@sha256:" + "e" * 64):
        assert not any(fnmatch.fnmatchcase(foreign, p) for p in patterns)


def test_enforce_refuses_and_pins_tags_to_digests(
    tmp_path: Path, rendered: audit.RenderedOverlays
) -> None:
    verify = _rule(audit.kyverno_policy(_key_settings(tmp_path), rendered, enforce=True))
    assert verify["action"] == "Enforce" and verify["mutateDigest"] is True


def test_a_kms_key_is_named_by_its_uri(tmp_path: Path, rendered: audit.RenderedOverlays) -> None:
    settings = Settings(state_dir=tmp_path, signing_key="awskms:///alias/release")
    verify = _rule(audit.kyverno_policy(settings, rendered, enforce=False))
    (entry,) = verify["attestors"][0]["entries"]
    assert entry["keys"]["kms"] == "awskms:///alias/release"
    assert "publicKeys" not in entry["keys"]


def test_keyless_mode_trusts_the_certificate_identity_and_issuer(
    tmp_path: Path, rendered: audit.RenderedOverlays
) -> None:
    identity = "https://github.com/acme/shop/.github/workflows/ci.yml@refs/heads/main"
    settings = Settings(
        state_dir=tmp_path,
        signing_mode="keyless",
        certificate_identity=identity,
        certificate_oidc_issuer="https://token.actions.githubusercontent.com",
        rekor_url="https://rekor.example.org",
    )
    verify = _rule(audit.kyverno_policy(settings, rendered, enforce=False))
    keyless = {
        "keyless": {
            "subject": identity,
            "issuer": "https://token.actions.githubusercontent.com",
            "rekor": {"url": "https://rekor.example.org"},
        }
    }
    assert verify["attestors"] == [{"entries": [keyless]}]
    assert all(a["attestors"] == [{"entries": [keyless]}] for a in verify["attestations"])


def test_keyless_without_an_identity_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="certificate identity"):
        audit.policy_attestor(Settings(state_dir=tmp_path, signing_mode="keyless"))


def test_a_missing_or_non_pem_public_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StateCorrupt, match="cannot read the public key") as missing:
        audit.policy_attestor(Settings(state_dir=tmp_path))
    assert missing.value.exit_code == 3
    with pytest.raises(UsageError, match="not PEM"):
        audit.policy_attestor(_key_settings(tmp_path, public="ssh-ed25519 AAAA"))


def _gate_condition(verify: dict[str, Any]) -> dict[str, Any]:
    (vuln,) = [a for a in verify["attestations"] if a["type"].endswith("/attestation/vuln/v1")]
    (group,) = vuln["conditions"]
    (condition,) = group["all"]
    return dict(condition)


def _count(predicate: dict[str, Any], severities: set[str], *, fixed_only: bool) -> int:
    """What the condition's query counts, walked by hand over a recorded predicate: the
    path ``scanner.result.Results[].Vulnerabilities[]`` with ``Severity``, ``FixedVersion``."""
    return sum(
        1
        for result in predicate["scanner"]["result"].get("Results") or []
        for v in result.get("Vulnerabilities") or []
        if v["Severity"] in severities and (v.get("FixedVersion") or not fixed_only)
    )


def test_the_vulnerability_attestation_must_have_no_finding_at_the_gate_severities(
    tmp_path: Path, rendered: audit.RenderedOverlays
) -> None:
    verify = _rule(audit.kyverno_policy(_key_settings(tmp_path), rendered, enforce=False))
    condition = _gate_condition(verify)
    assert condition["key"] == (
        "{{ length(scanner.result.Results[].Vulnerabilities[]"
        ' | [?contains(`["CRITICAL", "HIGH"]`, Severity)] || `[]`) }}'
    )
    assert (condition["operator"], condition["value"]) == ("Equals", 0)
    assert "at CRITICAL, HIGH:" in condition["message"]
    # The path the query reads is where trivy's cosign-vuln predicate (as seamline attests
    # it) holds its findings: the recorded vulnerable scan has two HIGH, the clean none.
    trivy = DATA / "trivy"
    vulnerable = json.loads((trivy / "vulnerable-x-text.cosign-vuln.json").read_text())
    clean = json.loads((trivy / "clean.cosign-vuln.json").read_text())
    assert _count(vulnerable, {"HIGH", "CRITICAL"}, fixed_only=False) == 2
    assert _count(clean, {"HIGH", "CRITICAL"}, fixed_only=False) == 0
    assert _count(vulnerable, {"CRITICAL"}, fixed_only=False) == 0


def test_the_condition_follows_the_gate_severities_and_ignore_unfixed(
    tmp_path: Path, rendered: audit.RenderedOverlays
) -> None:
    gated = dataclasses.replace(
        rendered, gate=GatePolicy.from_strings(["critical,medium"], ignore_unfixed=True)
    )
    verify = _rule(audit.kyverno_policy(_key_settings(tmp_path), gated, enforce=False))
    condition = _gate_condition(verify)
    assert condition["key"] == (
        "{{ length(scanner.result.Results[].Vulnerabilities[]"
        ' | [?contains(`["CRITICAL", "MEDIUM"]`, Severity) && FixedVersion] || `[]`) }}'
    )
    assert "with a fix at CRITICAL, MEDIUM:" in condition["message"]
