"""Every stage's cache key, in one place, and the cache policy they share.

A key is a pure function of the task's arguments and the run's ``RunInputs`` (resolved
once by the preflight): no file, registry or clock is read here. What goes into each key:

| stage       | key parts |
|-------------|-----------|
| build-test  | source hash, check settings (blocking checks, new findings only, lint config), |
|             | lint baseline commit, tool versions, sandbox image, trust class |
|             | (the sandbox sees only the service's folder, the lint config and the patch |
|             | from the baseline, which the source hash and baseline commit determine) |
| image       | source hash, build copy hash (the Dockerfile as built, mirrors named), build |
|             | args, base-image digests, target repository, builder, where the image goes |
|             | (a Docker build: the engine; a BuildKit build: the registry when the run |
|             | releases; see ``seamline.policy.image_output``) |
| push        | image id, target repository |
| scan        | scanned digest or local image id, whether the run releases, Trivy DB |
|             | digest, trivy version, gate, date |
| sbom        | pushed digest, syft version |
| sign-attest | pushed digest, signer (its vuln attestation: the scan of the run that |
|             | signed; the nightly re-scan replaces it with a newer one)            |
| attest-sbom | pushed digest, signer, SBOM hash |

A run that releases nothing never shares a result with one that does (a pull request's
scan is never the evidence a release attests), and BuildKit's build into an OCI layout
folder, and its scan, are never cached: the folder is gone when its run ends (no key).

Keys are held SERIALIZABLE: two runs that miss the same key at once compute it once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext

from seamline.cache.content_hash import value_hash
from seamline.cache.lock import FlockLockManager
from seamline.policy.image_output import cached_across_runs
from seamline.run.results import RESULTS_VERSION, BuiltImage, PushedImage, SbomResult, SignResult
from seamline.validate.image_ref import ImageRef
from tasks.context import RunContext

_LOCKS = FlockLockManager()


def stage_key(stage: str, *parts: object) -> str:
    return f"seamline-{stage}-{value_hash(RESULTS_VERSION, *parts)}"


def build_test(ctx: RunContext, service: str) -> str:
    i = ctx.inputs
    return stage_key(
        "build-test",
        i.sources[service],
        i.checks.get(service, ""),
        i.lint_baselines.get(service, ""),
        i.tool_versions,
        i.sandbox_image,
        i.trust,
    )


def image(ctx: RunContext, service: str) -> str | None:
    output = ctx.image_output
    if not cached_across_runs(output):
        return None
    i = ctx.inputs
    repository = ctx.config.target_repository(ctx.service(service))
    return stage_key(
        "image",
        i.sources[service],
        i.dockerfiles[service],
        i.build_args,
        i.base_images,
        repository,
        ctx.settings.image_builder,
        output,
        ctx.releases,
    )


def push(built: BuiltImage) -> str:
    return stage_key("push", built.image_id, ImageRef.parse(built.local_ref).name)


def scan(ctx: RunContext, target: BuiltImage | PushedImage) -> str | None:
    if isinstance(target, BuiltImage) and target.layout:
        return None
    identity = target.ref if isinstance(target, PushedImage) else target.image_id
    i = ctx.inputs
    return stage_key(
        "scan",
        identity,
        ctx.releases,
        i.trivy_db,
        i.tool_versions.get("trivy", ""),
        i.gate,
        i.today,
    )


def sbom(ctx: RunContext, pushed: PushedImage) -> str:
    return stage_key("sbom", pushed.ref, ctx.inputs.tool_versions.get("syft", ""))


def sign(ctx: RunContext, pushed: PushedImage) -> str:
    return stage_key("sign", pushed.ref, ctx.inputs.signer)


def attest_sbom(ctx: RunContext, signed: SignResult, document: SbomResult) -> str:
    return stage_key("attest-sbom", signed.ref, ctx.inputs.signer, document.sha256)


def policy(key: Callable[[dict[str, Any]], str | None]) -> CachePolicy:
    """The Prefect cache policy of a stage: ``key`` maps the task's parameters to its key
    (None: this call is not cached)."""

    def from_parameters(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
        return key(parameters)

    return CachePolicy.from_cache_key_fn(from_parameters).configure(
        isolation_level="SERIALIZABLE", lock_manager=_LOCKS
    )
