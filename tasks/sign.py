"""Stage sign & attest: the signer signs the digest and attests its SLSA provenance, then
verifies both. The SBOM attestation (``tasks.attest_sbom``) follows once syft is done, so
signing does not wait for the SBOM."""

from __future__ import annotations

import json
from datetime import datetime

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import Signer
from seamline.errors import GateFailure
from seamline.run.provenance import BuildFacts, slsa_provenance
from seamline.run.results import BuildTestResult, BuiltImage, PushedImage, ScanResult, SignResult
from tasks import cache_keys
from tasks.context import Log, RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service
from tasks.side_by_side import side_by_side

PROVENANCE_TYPE = "slsaprovenance1"


def _facts(ctx: RunContext, built: BuiltImage, image: PushedImage) -> BuildFacts:
    spec = ctx.service(image.service)
    return BuildFacts(
        builder_id=ctx.settings.builder_id,
        source_repo=ctx.workspace.repo,
        source_commit=ctx.workspace.commit,
        service=image.service,
        context=spec.context,
        dockerfile=spec.dockerfile,
        build_args=built.build_args,
        base_images={ref: digest for ref, digest in built.base_digests.items() if digest},
        flow_run_id=ctx.flow_run_id,
        flow_run_url=ctx.flow_run_url,
        started=datetime.fromisoformat(built.started),
        finished=datetime.fromisoformat(built.finished),
        substituted=built.substituted,
    )


def sign_attest(
    ctx: RunContext, built: BuiltImage, image: PushedImage, *, signer: Signer, log: Log
) -> SignResult:
    """Sign the digest and attest its provenance, side by side, then verify both."""
    folder = ctx.settings.state_dir / "evidence" / "provenance"
    folder.mkdir(parents=True, exist_ok=True)
    provenance = folder / f"{image.digest.replace(':', '-')}.json"
    provenance.write_text(json.dumps(slsa_provenance(_facts(ctx, built, image)), indent=1))

    def sign() -> None:
        if signer.is_signed(image.ref):
            log.info("%s: %s already carries a valid signature", image.service, image.digest)
        else:
            signer.sign(image.ref)

    # The signature and the attestation live under different tags: written side by side.
    side_by_side(
        sign,
        lambda: signer.attest(image.ref, predicate=provenance, predicate_type=PROVENANCE_TYPE),
        name=f"sign-{image.service}",
    )
    verified, _, signature, attestations = side_by_side(
        lambda: signer.verify(image.ref),
        lambda: signer.verify_attestation(image.ref, predicate_type=PROVENANCE_TYPE),
        lambda: signer.signature_ref(image.ref),
        lambda: signer.attestation_ref(image.ref),
        name=f"verify-{image.service}",
    )
    if image.digest not in verified:
        raise GateFailure(
            f"{image.service}: no verified signature covers {image.digest} "
            f"(verified: {', '.join(verified)})",
            hint="the signature on the registry is not for this image; rerun to sign it again",
        )
    log.info("%s: signed %s, provenance attested (verified)", image.service, image.ref)
    return SignResult(image.service, image.ref, signature, (f"{PROVENANCE_TYPE}:{attestations}",))


@task(
    name="sign-attest",
    task_run_name=per_service("sign-attest"),
    cache_policy=cache_keys.policy(lambda p: cache_keys.sign(p["ctx"], p["image"])),
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def sign_and_attest(
    ctx: RunContext,
    service: str,
    built: BuiltImage,
    image: PushedImage,
    scanned: ScanResult,
    tested: BuildTestResult,
) -> SignResult:
    """Runs only after the scan gate (``scanned``) and the tests, vet and lint
    (``tested``) passed: nothing failing is ever signed."""
    return sign_attest(ctx, built, image, signer=ctx.tools.signer(), log=get_run_logger())
