"""Stage sign & attest: cosign signs the digest, attests SBOM and SLSA provenance, verifies."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger

from seamline.provenance import BuildFacts, slsa_provenance
from seamline.results import BuiltImage, PushedImage, SbomResult, ScanResult, SignResult
from tasks.cache_keys import stage_key
from tasks.context import RunContext
from tasks.retry_policy import transient_only

SBOM_TYPE = "spdxjson"
PROVENANCE_TYPE = "slsaprovenance1"


def _key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    ctx: RunContext = parameters["ctx"]
    image: PushedImage = parameters["image"]
    return stage_key("sign", image.ref, ctx.tools.cosign().identity)


@task(
    name="sign-attest",
    cache_key_fn=_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def sign_and_attest(
    ctx: RunContext,
    built: BuiltImage,
    image: PushedImage,
    scanned: ScanResult,
    sbom: SbomResult,
) -> SignResult:
    """Runs only after the scan gate passed (``scanned``): nothing failing is ever signed."""
    logger = get_run_logger()
    cosign = ctx.tools.cosign()
    if cosign.is_signed(image.ref):
        logger.info("%s: %s already carries a valid signature", image.service, image.digest)
    else:
        cosign.sign(image.ref)
    spec = ctx.service(image.service)
    facts = BuildFacts(
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
    )
    provenance = Path(sbom.path).with_suffix(".provenance.json")
    provenance.write_text(json.dumps(slsa_provenance(facts), indent=1))
    cosign.attest(image.ref, predicate=Path(sbom.path), predicate_type=SBOM_TYPE)
    cosign.attest(image.ref, predicate=provenance, predicate_type=PROVENANCE_TYPE)
    cosign.verify(image.ref)
    for predicate_type in (SBOM_TYPE, PROVENANCE_TYPE):
        cosign.verify_attestation(image.ref, predicate_type=predicate_type)
    logger.info("%s: signed and attested %s (verified)", image.service, image.ref)
    return SignResult(
        image.service,
        image.ref,
        cosign.triangulate(image.ref),
        (
            f"{SBOM_TYPE}:{cosign.triangulate(image.ref, kind='attestation')}",
            f"{PROVENANCE_TYPE}:{cosign.triangulate(image.ref, kind='attestation')}",
        ),
    )
