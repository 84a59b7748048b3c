"""Trivy, syft, cosign and kustomize, for real, on the local stack's images and mirrors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.adapters.cosign import Cosign
from seamline.adapters.kustomize import Kustomize
from seamline.adapters.syft import Syft
from seamline.adapters.trivy import Trivy
from seamline.config.pipeline import PipelineConfig
from seamline.config.settings import Settings
from seamline.errors import ToolFailed
from seamline.stack.signing_key import SigningKey
from seamline.tools.pins import locate
from tests.integration.conftest import BuiltImage

SERVICES = ["catalog", "orders", "payments-worker", "storefront"]
PLANTED = {"CVE-2021-38561", "CVE-2022-32149"}


@pytest.fixture(scope="module")
def trivy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trivy-cache")


def _trivy_cli(settings: Settings, cache: Path, reference: str) -> subprocess.CompletedProcess[str]:
    """The user's command line: `trivy image --exit-code 1 --severity HIGH,CRITICAL`."""
    return subprocess.run(
        [
            str(locate("trivy", settings.tools_dir)),
            "image",
            "--cache-dir",
            str(cache),
            "--db-repository",
            settings.trivy_db(),
            "--skip-java-db-update",
            "--skip-version-check",
            "--scanners",
            "vuln",
            "--insecure",
            "--format",
            "json",
            "--quiet",
            "--exit-code",
            "1",
            "--severity",
            "HIGH,CRITICAL",
            reference,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _vulnerability_ids(report: dict[str, object]) -> set[str]:
    results = report.get("Results") or []
    assert isinstance(results, list)
    return {v["VulnerabilityID"] for r in results for v in (r.get("Vulnerabilities") or [])}


def test_trivy_finds_the_planted_cves(
    vulnerable_image: BuiltImage, settings: Settings, trivy_cache: Path
) -> None:
    result = _trivy_cli(settings, trivy_cache, vulnerable_image.by_digest)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert _vulnerability_ids(report) >= PLANTED
    vulns = [v for r in report["Results"] for v in r.get("Vulnerabilities") or []]
    text = next(v for v in vulns if v["VulnerabilityID"] == "CVE-2021-38561")
    assert text["PkgName"] == "golang.org/x/text"
    assert text["InstalledVersion"] == "v0.3.5"
    assert text["Severity"] == "HIGH"
    assert "0.3.7" in text["FixedVersion"]


@pytest.mark.parametrize("name", SERVICES)
def test_trivy_finds_nothing_in_the_bookstore(
    name: str, bookstore_images: dict[str, BuiltImage], settings: Settings, trivy_cache: Path
) -> None:
    result = _trivy_cli(settings, trivy_cache, bookstore_images[name].by_digest)
    assert result.returncode == 0, result.stderr
    assert _vulnerability_ids(json.loads(result.stdout)) == set()


def test_trivy_adapter_reports_without_failing(
    vulnerable_image: BuiltImage, settings: Settings, trivy_cache: Path
) -> None:
    trivy = Trivy(
        binary=locate("trivy", settings.tools_dir),
        cache_dir=trivy_cache,
        db_repository=settings.trivy_db(),
        docker_host=settings.docker_host,
    )
    scan = trivy.scan_image(vulnerable_image.by_digest, severities=["HIGH", "CRITICAL"])
    assert _vulnerability_ids(json.loads(scan.document)) >= PLANTED
    assert {f.id for f in scan.report.findings} >= PLANTED


def test_trivy_adapter_fails_on_a_missing_image(settings: Settings, trivy_cache: Path) -> None:
    trivy = Trivy(
        binary=locate("trivy", settings.tools_dir),
        cache_dir=trivy_cache,
        db_repository=settings.trivy_db(),
        docker_host=settings.docker_host,
    )
    missing = f"{settings.registry}/fixtures/none@sha256:" + "0" * 64
    with pytest.raises(ToolFailed, match="could not scan"):
        trivy.scan_image(missing, severities=["HIGH"])


def test_syft_writes_spdx_json(
    bookstore_images: dict[str, BuiltImage], settings: Settings, tmp_path: Path
) -> None:
    syft = Syft(binary=locate("syft", settings.tools_dir), cache_dir=tmp_path, insecure_http=True)
    sbom = syft.sbom(bookstore_images["catalog"].by_digest)
    document = json.loads(sbom.document)
    assert sbom.package_count == len(document["packages"])
    assert document["spdxVersion"] == "SPDX-2.3"
    assert document["SPDXID"] == "SPDXRef-DOCUMENT"
    assert document["documentNamespace"]
    names = {p["name"] for p in document["packages"]}
    assert "bookstore/catalog" in names
    assert any(r["relationshipType"] == "DESCRIBES" for r in document["relationships"])


def test_cosign_sign_and_verify_round_trip(
    bookstore_images: dict[str, BuiltImage], settings: Settings, tmp_path: Path
) -> None:
    key = SigningKey(settings)
    cosign = key.cosign()
    image = bookstore_images["orders"]
    cosign.sign(image.by_digest)
    assert image.digest in cosign.verify(image.by_digest)

    other = subprocess.run(
        [str(locate("cosign", settings.tools_dir)), "generate-key-pair"],
        cwd=tmp_path,
        env={"COSIGN_PASSWORD": "other", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.returncode == 0
    stranger = Cosign.from_key(
        binary=locate("cosign", settings.tools_dir),
        key=tmp_path / "cosign.key",
        public_key=tmp_path / "cosign.pub",
        password=SecretStr("other"),
    )
    with pytest.raises(ToolFailed):
        stranger.verify(image.by_digest)
    assert not stranger.is_signed(image.by_digest)
    unsigned = bookstore_images["storefront"]
    with pytest.raises(ToolFailed):
        cosign.verify(unsigned.by_digest)


@pytest.mark.parametrize("overlay", ["dev", "staging", "prod"])
def test_every_overlay_renders(overlay: str, bookstore: PipelineConfig, settings: Settings) -> None:
    rendered = Kustomize(binary=locate("kustomize", settings.tools_dir)).build(
        bookstore.overlay(overlay)
    )
    assert f"namespace: bookstore-{overlay}" in rendered
    for service in SERVICES:
        assert f"image: 127.0.0.1:5000/bookstore/{service}:" in rendered
