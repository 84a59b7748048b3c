"""Stage sign & attest: the signer signs the digest and attests its SLSA provenance and the
scan gate's scan (a cosign ``vuln`` attestation: the digest's first "latest scan", which
each nightly re-scan replaces), then verifies all three. The SBOM attestation
(``tasks.attest_sbom``) follows once syft is done, so signing does not wait for the SBOM."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.roles import Signer
from seamline.errors import GateFailure
from seamline.run.provenance import PROVENANCE_TYPE, BuildFacts, slsa_provenance
from seamline.run.results import BuildTestResult, BuiltImage, PushedImage, ScanResult, SignResult
from seamline.run.vuln_attestation import VULN_TYPE, attest_vuln_scan
from tasks import cache_keys
from tasks.context import Log, RunContext
from tasks.retry_policy import transient_only
from tasks.run_names import per_service
from tasks.side_by_side import side_by_side

__all__ = ["PROVENANCE_TYPE", "sign_and_attest", "sign_attest"]


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
        builder=ctx.settings.image_builder,
        source_date_epoch=ctx.workspace.commit_time,
        final_stage=built.final_stage,
    )


def sign_attest(
    ctx: RunContext,
    built: BuiltImage,
    image: PushedImage,
    *,
    signer: Signer,
    log: Log,
    vuln_predicate: Path | None = None,
) -> SignResult:
    """Sign the digest and attest its provenance and, given ``vuln_predicate`` (the scan
    gate's scan as a cosign vuln predicate), that scan, side by side; then verify them."""
    folder = ctx.settings.state_dir / "evidence" / "provenance"
    folder.mkdir(parents=True, exist_ok=True)
    provenance = folder / f"{image.digest.replace(':', '-')}.json"
    provenance.write_text(json.dumps(slsa_provenance(_facts(ctx, built, image)), indent=1))
    scan = _scan_predicate(vuln_predicate, image, log)
    kinds = (PROVENANCE_TYPE, VULN_TYPE) if scan else (PROVENANCE_TYPE,)

    def sign() -> None:
        if signer.is_signed(image.ref):
            log.info("%s: %s already carries a valid signature", image.service, image.digest)
        else:
            signer.sign(image.ref)

    def attest() -> None:
        # Attestations share one tag: written one after the other, never at once.
        signer.attest(image.ref, predicate=provenance, predicate_type=PROVENANCE_TYPE)
        if scan:
            attest_vuln_scan(signer, image.ref, scan)

    # The signature and the attestations live under different tags: written side by side.
    side_by_side(sign, attest, name=f"sign-{image.service}")
    verified, signature, attestations, *_ = side_by_side(
        lambda: signer.verify(image.ref),
        lambda: signer.signature_ref(image.ref),
        lambda: signer.attestation_ref(image.ref),
        *[_verifier(signer, image.ref, kind) for kind in kinds],
        name=f"verify-{image.service}",
    )
    if image.digest not in verified:
        raise GateFailure(
            f"{image.service}: no verified signature covers {image.digest} "
            f"(verified: {', '.join(verified)})",
            hint="the signature on the registry is not for this image; rerun to sign it again",
        )
    log.info("%s: signed %s, %s attested (verified)", image.service, image.ref, ", ".join(kinds))
    return SignResult(
        image.service, image.ref, signature, tuple(f"{kind}:{attestations}" for kind in kinds)
    )


def _verifier(signer: Signer, reference: str, kind: str) -> Callable[[], int]:
    return lambda: signer.verify_attestation(reference, predicate_type=kind)


def _scan_predicate(path: Path | None, image: PushedImage, log: Log) -> str:
    """The scan gate's vuln predicate; "" (nothing to attest) when the scan kept none,
    e.g. a cached scan from a run whose evidence folder is gone."""
    if path is None:
        return ""
    if not path.is_file():
        log.warning(
            "%s: the scan's vuln predicate %s is gone: no vuln attestation until the re-scan",
            image.service,
            path,
        )
        return ""
    return path.read_text()


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
    (``tested``) passed: nothing failing is ever signed. The gate's scan is attested."""
    return sign_attest(
        ctx,
        built,
        image,
        signer=ctx.tools.signer(),
        log=get_run_logger(),
        vuln_predicate=Path(scanned.vuln_predicate) if scanned.vuln_predicate else None,
    )
