"""Stage attest-sbom: the SPDX SBOM attested on the signed digest, and verified."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import Signer
from seamline.run.results import SbomResult, SignResult
from tasks import cache_keys
from tasks.context import RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service

SBOM_TYPE = "spdxjson"


def attest(signed: SignResult, sbom: SbomResult, *, signer: Signer) -> SignResult:
    """``signed`` with the SBOM attestation added, once it verifies."""
    signer.attest(signed.ref, predicate=Path(sbom.path), predicate_type=SBOM_TYPE)
    signer.verify_attestation(signed.ref, predicate_type=SBOM_TYPE)
    # A digest's attestations all live under the one tag sign-attest already looked up.
    attestations = signed.attestations[0].partition(":")[2]
    return SignResult(
        signed.service,
        signed.ref,
        signed.signature,
        (*signed.attestations, f"{SBOM_TYPE}:{attestations}"),
    )


@task(
    name="attest-sbom",
    task_run_name=per_service("attest-sbom"),
    cache_policy=cache_keys.policy(
        lambda p: cache_keys.attest_sbom(p["ctx"], p["signed"], p["sbom"])
    ),
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def attest_sbom(ctx: RunContext, service: str, signed: SignResult, sbom: SbomResult) -> SignResult:
    """After sign-attest (whose provenance attestation shares the digest's attestation
    tag, so the two never write at once) and after the SBOM."""
    result = attest(signed, sbom, signer=ctx.tools.signer())
    get_run_logger().info("%s: SBOM attested on %s (verified)", signed.service, signed.ref)
    return result
