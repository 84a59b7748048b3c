"""The vuln attestation through the real cosign, on a registry of the test's own: a scan
attested in key mode reads back as the latest scan, a newer one replaces it and leaves the
other attestations alone, and another key's reader finds none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.adapters.cosign import Cosign
from seamline.config.settings import Settings
from seamline.errors import ToolFailed
from seamline.policy.rescan import finding_keys
from seamline.run.vuln_attestation import VULN_TYPE, attest_vuln_scan, latest_vuln_scan
from seamline.tools.pins import locate
from tests.tools.private_registry import private_registry, push_file_image

DATA = Path(__file__).resolve().parents[1] / "data"
PASSWORD = SecretStr("vuln-tool-test-password")


def _cosign(folder: Path) -> Cosign:
    folder.mkdir()
    signer = Cosign.from_key(
        binary=locate("cosign", Settings().tools_dir),
        key=folder / "cosign.key",
        public_key=folder / "cosign.pub",
        password=PASSWORD,
    )
    signer.generate_key_pair(folder)
    return signer


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


def _predicate(name: str) -> str:
    return (DATA / "trivy" / name).read_text()


def test_the_latest_attested_scan_reads_back_and_replaces_the_last(
    registry: str, tmp_path: Path
) -> None:
    payload = tmp_path / "payload.txt"
    payload.write_text("an image with nothing to scan\n")
    reference = push_file_image(registry, "seamline/vuln-tool-test", payload)
    signer = _cosign(tmp_path / "keys")
    sbom = DATA / "syft" / "image-encoder-v1.57.1.spdx.json"
    signer.attest(reference, predicate=sbom, predicate_type="spdxjson")
    assert latest_vuln_scan(signer, reference) is None  # attestations, but no vuln one

    attest_vuln_scan(signer, reference, _predicate("vulnerable-x-text.cosign-vuln.json"))
    found = latest_vuln_scan(signer, reference)
    assert found is not None and finding_keys(found.report.findings) == (
        "CVE-2021-38561 golang.org/x/text",
        "CVE-2022-32149 golang.org/x/text",
    )
    assert found.scanner.startswith("trivy ")

    attest_vuln_scan(signer, reference, _predicate("clean.cosign-vuln.json"))
    latest = latest_vuln_scan(signer, reference)
    assert latest is not None and latest.report.findings == ()
    assert signer.verify_attestation(reference, predicate_type=VULN_TYPE) == 1  # replaced
    assert signer.verify_attestation(reference, predicate_type="spdxjson") == 1  # kept

    stranger = _cosign(tmp_path / "other-keys")
    assert latest_vuln_scan(stranger, reference) is None  # not signed by that identity


def test_an_unreachable_registry_is_an_error_not_an_absent_attestation(tmp_path: Path) -> None:
    signer = _cosign(tmp_path / "keys")
    with pytest.raises(ToolFailed) as raised:
        latest_vuln_scan(signer, "127.0.0.1:9/seamline/app@sha256:" + "ab" * 32)
    assert raised.value.exit_code == 3
