"""Stage audit: every image every overlay of the GitOps repository renders, checked the way
an admission policy that verifies images would check it, and the Kyverno policy that does.

Each distinct reference is checked once, however many overlays deploy it: pinned by digest,
held by the registry, signed by the configured identity, SBOM and provenance attestations
verified with the real cosign (the same checks as promotion, ``tasks.verify_evidence``), and
its latest vulnerability result passing (``latest_vulnerability_result``). The verdict is
``seamline.policy.audit``'s; the report ``seamline.run.audit_report``'s.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from seamline.adapters.cosign import is_key_uri
from seamline.adapters.roles import GitOpsRemote, ImageRegistry, ManifestEditor, Signer
from seamline.adapters.toolbox import Toolbox
from seamline.config.pipeline import PipelineConfig, load_pipeline_config
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt, UsageError
from seamline.overlay.rendered import rendered_images
from seamline.policy.audit import Admission, decide_admission, pinned_check, presence_check
from seamline.policy.checks import IN_REGISTRY, VULNERABILITIES, CheckOutcome
from seamline.policy.gate import GatePolicy
from seamline.policy.kyverno import (
    Attestor,
    KeyAttestor,
    KeylessAttestor,
    cluster_policy,
    policy_yaml,
)
from seamline.policy.rescan import RescanBlock
from seamline.run.audit_report import OverlayImages
from seamline.run.rescan_state import RescanState
from seamline.validate.image_ref import ImageRef
from seamline.validate.names import check_name
from tasks.retry_policy import transient_only
from tasks.scan import repository_gate
from tasks.verify_evidence import (
    guarded,
    provenance_check,
    sbom_check,
    signature_check,
    vulnerability_check,
)


@dataclass(frozen=True)
class RenderedOverlays:
    """What the GitOps repository deploys, read from one clone: each overlay's images,
    and the repositories seamline releases into (``registry/repository``)."""

    gitops_commit: str
    registry: str  # seamline.toml's [pipeline] registry
    gate: GatePolicy  # what a digest's latest scan must pass: CI's gate, the repo's allow-list
    service_repositories: tuple[str, ...]
    overlays: tuple[OverlayImages, ...]

    def references(self) -> tuple[str, ...]:
        """Every distinct image reference, each once."""
        return tuple(
            dict.fromkeys(image.image for overlay in self.overlays for image in overlay.images)
        )

    def repositories(self) -> tuple[str, ...]:
        """The repositories of the configured registry the overlays deploy, and every
        service's: what an admission policy must verify."""
        used = set(self.service_repositories)
        for reference in self.references():
            try:
                ref = ImageRef.parse(reference)
            except UsageError:
                continue  # refused by the audit; no repository to name
            if ref.registry == self.registry:
                used.add(ref.name)
        return tuple(sorted(used))


def read_overlays(
    remote: GitOpsRemote,
    editor: ManifestEditor,
    work: Path,
    *,
    overlay: str,
    gate_of: Callable[[PipelineConfig], GatePolicy],
) -> RenderedOverlays:
    """Clone the GitOps repository, render ``overlay`` (every overlay when empty) with
    kustomize, and read the images of the rendered manifests. ``gate_of`` gives the gate a
    digest's latest scan is judged by, from the repository's config."""
    if overlay:
        check_name(overlay, what="overlay")
    clone = remote.clone(work)
    config = load_pipeline_config(clone.path)
    found = config.overlay_folders(clone.path)
    chosen = found
    if overlay:
        chosen = {n: p for n, p in found.items() if n == overlay}
        if not chosen:
            raise UsageError(
                f"no overlay {overlay} in the GitOps repository",
                hint=f"choose from {', '.join(found) or '(none)'}",
            )
    if not chosen:
        raise UsageError(
            f"the GitOps repository has no overlay under {config.pipeline.overlay_root}",
            hint="check [pipeline] overlay_root in seamline.toml",
        )
    return RenderedOverlays(
        gitops_commit=clone.head,
        registry=config.pipeline.registry,
        gate=gate_of(config),
        service_repositories=tuple(config.target_repository(s) for s in config.services),
        overlays=tuple(
            OverlayImages(name, rendered_images(editor.build(p), overlay=name))
            for name, p in chosen.items()
        ),
    )


def latest_vulnerability_result(
    reference: str,
    *,
    signer: Signer,
    gate: GatePolicy,
    blocks: Callable[[str], RescanBlock | None],
    today: dt.date | None = None,
) -> CheckOutcome:
    """The digest's latest vulnerability result, as the audit judges it: its newest signed
    ``vuln`` attestation judged by ``gate`` (promotion's check 5 reads the same), or, for
    a digest with none, the nightly re-scan's open block."""
    return vulnerability_check(
        VULNERABILITIES,
        signer,
        reference,
        gate=gate,
        today=today or dt.datetime.now(dt.UTC).date(),
        blocks=blocks,
    )


def audit_reference(
    reference: str,
    *,
    registry_name: str,
    registry: ImageRegistry,
    signer: Signer,
    vulnerabilities: Callable[[str], CheckOutcome],
) -> Admission:
    """Check ``reference`` as an admission policy would: a reference that is not pinned,
    or that the registry does not hold, is refused without asking cosign."""
    outcomes = [pinned_check(reference)]
    if outcomes[-1].passed:
        ref = ImageRef.parse(reference)

        def held() -> CheckOutcome:
            found = None
            if ref.registry == registry_name and ref.digest:
                found = registry.manifest_digest(ref.repository, ref.digest)
            return presence_check(reference, registry=registry_name, found=found)

        outcomes.append(guarded(IN_REGISTRY, held))
    if outcomes[-1].passed:
        outcomes += [
            signature_check(signer, reference),
            sbom_check(signer, reference),
            provenance_check(signer, reference),
            guarded(VULNERABILITIES, lambda: vulnerabilities(reference)),
        ]
    return decide_admission(reference, outcomes)


def policy_attestor(settings: Settings) -> Attestor:
    """Who the policy trusts, from the settings: the configured public key's PEM text
    (or its KMS URI) in key mode, the certificate identity and issuer in keyless mode."""
    if settings.signing_mode == "keyless":
        return KeylessAttestor(
            subject=settings.certificate_identity,
            issuer=settings.certificate_oidc_issuer,
            rekor_url=settings.rekor_url,
        )
    public = settings.signing_public_key_ref()
    if is_key_uri(public):
        return KeyAttestor(kms=public, rekor_url=settings.rekor_url)
    try:
        pem = Path(public).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise StateCorrupt(
            f"cannot read the public key {public}: {e}",
            hint="run `seamline stack up` (it generates the local key) or set "
            "SEAMLINE_SIGNING_PUBLIC_KEY to the key pair's cosign.pub",
        ) from e
    return KeyAttestor(public_key_pem=pem, rekor_url=settings.rekor_url)


def kyverno_policy(settings: Settings, rendered: RenderedOverlays, *, enforce: bool) -> str:
    """The Kyverno ClusterPolicy, as YAML, for what ``rendered`` deploys."""
    return policy_yaml(
        cluster_policy(
            repositories=rendered.repositories(),
            attestor=policy_attestor(settings),
            enforce=enforce,
            severities=rendered.gate.severities,
            ignore_unfixed=rendered.gate.ignore_unfixed,
        )
    )


def render_gitops_overlays(settings: Settings, overlay: str) -> RenderedOverlays:
    """``read_overlays`` on the configured GitOps remote, in a folder of its own."""
    tools = Toolbox(settings)
    with tempfile.TemporaryDirectory(prefix="seamline-audit-") as folder:
        return read_overlays(
            tools.gitops_remote(),
            tools.manifest_editor(),
            Path(folder) / "gitops",
            overlay=overlay,
            gate_of=partial(repository_gate, settings),
        )


@task(
    name="audit-overlays",
    task_run_name="audit-overlays",
    retries=2,
    retry_delay_seconds=3,
    retry_condition_fn=transient_only,
)
def render_overlays(settings: Settings, overlay: str) -> RenderedOverlays:
    rendered = render_gitops_overlays(settings, overlay)
    get_run_logger().info(
        "%d overlay(s) at %s deploy %d distinct image reference(s)",
        len(rendered.overlays),
        rendered.gitops_commit[:12],
        len(rendered.references()),
    )
    return rendered


@task(
    name="audit-image",
    task_run_name="audit-image[{reference}]",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
)
def audit_image(settings: Settings, reference: str, gate: GatePolicy) -> Admission:
    tools = Toolbox(settings)
    registry = tools.registry()
    signer = tools.signer()
    try:
        admission = audit_reference(
            reference,
            registry_name=settings.registry,
            registry=registry,
            signer=signer,
            vulnerabilities=partial(
                latest_vulnerability_result,
                signer=signer,
                gate=gate,
                blocks=RescanState.under(settings.state_dir).block_for,
            ),
        )
    finally:
        registry.close()
    log = get_run_logger()
    if admission.admitted:
        log.info("%s: admit", reference)
    else:
        log.warning("%s: REFUSE (%s)", reference, "; ".join(admission.reasons))
    return admission
