"""The audit of single references with the real cosign and a real registry of its own (no
stack): an image signed and attested by the configured key is admitted; an unsigned one,
or one without attestations, is refused with cosign's reason; a digest the registry lacks
is refused before cosign is asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.adapters.cosign import Cosign
from seamline.adapters.registry import RegistryClient
from seamline.config.settings import Settings
from seamline.policy.audit import AUDIT_CHECKS, Admission
from seamline.policy.gate import GatePolicy
from seamline.run.rescan_state import RescanState
from tasks.attest_sbom import SBOM_TYPE
from tasks.audit import audit_reference, latest_vulnerability_result
from tasks.sign import PROVENANCE_TYPE
from tests.tools.private_registry import private_registry

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Registry:
    address: str  # host:port
    client: RegistryClient


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry of this test's own (``tests.tools.private_registry``)."""
    with private_registry(tmp_path_factory.mktemp("registry")) as address:
        client = RegistryClient.for_url(f"http://{address}")
        try:
            yield Registry(address, client)
        finally:
            client.close()


def _push_image(registry: Registry, repository: str, marker: str) -> str:
    """A small OCI image (its config names ``marker``), pushed by digest: its reference."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "config": {"Labels": {"marker": marker}},
        }
    ).encode()
    layer = registry.client.push_blob(
        repository, marker.encode(), "application/vnd.oci.image.layer.v1.tar"
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": registry.client.push_blob(
            repository, config, "application/vnd.oci.image.config.v1+json"
        ).as_json(),
        "layers": [layer.as_json()],
    }
    digest = registry.client.put_manifest(repository, marker, manifest)
    return f"{registry.address}/{repository}@{digest}"


@pytest.fixture(scope="module")
def cosign(tmp_path_factory: pytest.TempPathFactory) -> Cosign:
    folder = tmp_path_factory.mktemp("key")
    signer = Cosign.from_key(
        binary=Path(Settings().tools_dir) / "cosign",
        key=folder / "cosign.key",
        public_key=folder / "cosign.pub",
        password=SecretStr("audit-test"),
    )
    signer.generate_key_pair(folder)
    return signer


def _attest(cosign: Cosign, reference: str, folder: Path, *kinds: str) -> None:
    predicates = {
        SBOM_TYPE: DATA / "syft" / "image-encoder-v1.57.1.spdx.json",
        PROVENANCE_TYPE: folder / "provenance.json",
    }
    predicates[PROVENANCE_TYPE].write_text(
        json.dumps(
            {
                "buildDefinition": {
                    "buildType": "https://seamline.dev/test",
                    "externalParameters": {},
                },
                "runDetails": {"builder": {"id": "https://seamline.dev/builders/test"}},
            }
        )
    )
    for kind in kinds:
        cosign.attest(reference, predicate=predicates[kind], predicate_type=kind)


def _audit(registry: Registry, cosign: Cosign, reference: str, state: Path) -> Admission:
    return audit_reference(
        reference,
        registry_name=registry.address,
        registry=registry.client,
        signer=cosign,
        vulnerabilities=partial(
            latest_vulnerability_result,
            signer=cosign,
            gate=GatePolicy.from_strings(["HIGH,CRITICAL"]),
            blocks=RescanState.under(state).block_for,
        ),
    )


def test_a_signed_and_attested_image_is_admitted_and_an_unsigned_one_refused(
    registry: Registry, cosign: Cosign, tmp_path: Path
) -> None:
    signed = _push_image(registry, "audit/app", "signed")
    unsigned = _push_image(registry, "audit/app", "unsigned")
    cosign.sign(signed)
    _attest(cosign, signed, tmp_path, SBOM_TYPE, PROVENANCE_TYPE)

    admitted = _audit(registry, cosign, signed, tmp_path)
    assert admitted.admitted, admitted.reasons
    assert tuple(o.check for o in admitted.outcomes) == AUDIT_CHECKS

    refused = _audit(registry, cosign, unsigned, tmp_path)
    assert not refused.admitted
    assert [r.partition(":")[0] for r in refused.reasons] == [
        "signature",
        "sbom-attestation",
        "provenance-attestation",
    ]
    assert "cosign verify exited" in refused.reasons[0]


def test_a_signed_image_without_provenance_is_refused_for_it(
    registry: Registry, cosign: Cosign, tmp_path: Path
) -> None:
    reference = _push_image(registry, "audit/app", "no-provenance")
    cosign.sign(reference)
    _attest(cosign, reference, tmp_path, SBOM_TYPE)
    refused = _audit(registry, cosign, reference, tmp_path)
    assert [r.partition(":")[0] for r in refused.reasons] == ["provenance-attestation"]


def test_a_digest_the_registry_lacks_is_refused_before_cosign_runs(
    registry: Registry, cosign: Cosign, tmp_path: Path
) -> None:
    missing = f"{registry.address}/audit/app@sha256:" + "0" * 64
    refused = _audit(registry, cosign, missing, tmp_path)
    assert refused.reasons == (
        "in-registry: the registry holds no manifest sha256:" + "0" * 64 + " in audit/app",
    )
    assert [o.check for o in refused.outcomes] == ["pinned-by-digest", "in-registry"]
