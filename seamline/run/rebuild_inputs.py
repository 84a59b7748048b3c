"""What a rebuild of a digest needs, read back from its verified SLSA provenance.

Only the provenance seamline itself attested is read (the signer's identity verified it),
and only a BuildKit build is rebuilt: the Docker builder stamps wall-clock metadata, so
its images never rebuild to the same digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seamline.adapters.roles import Signer
from seamline.errors import GateFailure, SeamlineError, UsageError
from seamline.run.provenance import BUILDKIT_BUILD_TYPE, PREDICATE_TYPE, PROVENANCE_TYPE
from seamline.validate.image_ref import ImageRef


@dataclass(frozen=True, kw_only=True)
class RebuildInputs:
    """The recorded inputs of one image build."""

    source_repo: str
    source_commit: str
    service: str
    context: str
    dockerfile: str
    build_args: dict[str, str]
    source_date_epoch: int
    substitutions: dict[str, str]  # the Dockerfile's base reference -> the mirror built from
    # The build copy named its last stage (releases since that stage is built without the
    # cache); the rebuild's copy must too: the name shows in the image's history.
    names_final_stage: bool = False


def _text(found: dict[str, Any], key: str, where: str) -> str:
    value = found.get(key)
    if not isinstance(value, str) or not value:
        raise GateFailure(f"the provenance records no {where}{key}")
    return value


def read_rebuild_inputs(predicate: dict[str, Any]) -> RebuildInputs:
    """The inputs a seamline SLSA v1 predicate records; GateFailure when it is not a
    BuildKit build or lacks an input a rebuild needs."""
    definition = predicate.get("buildDefinition")
    if not isinstance(definition, dict):
        raise GateFailure("the provenance has no buildDefinition")
    if definition.get("buildType") != BUILDKIT_BUILD_TYPE:
        raise GateFailure(
            f"the image was not built by BuildKit (build type {definition.get('buildType')}): "
            "the Docker builder stamps wall-clock metadata, so it never rebuilds identically",
            hint="build with SEAMLINE_IMAGE_BUILDER=buildkit, then verify that digest",
        )
    external = definition.get("externalParameters") or {}
    internal = definition.get("internalParameters") or {}
    source = external.get("source") or {}
    args = external.get("buildArgs") or {}
    epoch = internal.get("sourceDateEpoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch <= 0:
        raise GateFailure("the provenance records no sourceDateEpoch")
    substitutions = {
        str(dep["uri"]).removeprefix("oci://"): str(dep["annotations"]["substitutedBy"])
        for dep in definition.get("resolvedDependencies") or []
        if isinstance(dep, dict) and "substitutedBy" in (dep.get("annotations") or {})
    }
    return RebuildInputs(
        source_repo=_text(source, "repository", "source "),
        source_commit=_text(source, "revision", "source "),
        service=_text(external, "service", ""),
        context=_text(external, "context", ""),
        dockerfile=_text(external, "dockerfile", ""),
        build_args={str(k): str(v) for k, v in args.items()},
        source_date_epoch=epoch,
        substitutions=substitutions,
        names_final_stage=bool(internal.get("finalStage")),
    )


def verified_rebuild_inputs(signer: Signer, reference: str) -> RebuildInputs:
    """The rebuild inputs of ``name@sha256:…`` from the SLSA provenance attested on it that
    ``signer``'s expected identity verifies; GateFailure when none does. A digest can carry
    several (attested by several runs or seamline versions, oldest first): the newest one
    a rebuild can use is taken (its source is the likeliest to still exist), else the
    newest one's reason is given."""
    digest = ImageRef.parse(reference).digest
    if not digest:
        raise UsageError(f"verify-rebuild takes IMAGE@sha256:DIGEST, not {reference}")
    refusals: list[SeamlineError] = []
    statements = signer.verified_statements(reference, predicate_type=PROVENANCE_TYPE)
    for statement in reversed(list(statements)):
        if statement.predicate_type == PREDICATE_TYPE and digest in statement.subjects:
            try:
                return read_rebuild_inputs(statement.predicate)
            except SeamlineError as e:
                refusals.append(e)
    if refusals:
        raise refusals[0]
    raise GateFailure(
        f"no SLSA provenance on {reference} verifies with the configured signer identity",
        hint="only images seamline built and attested can be rebuilt",
    )
