"""Builds each adapter from the settings: the one place that knows where tools live."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from seamline.adapters.cosign import Cosign, KeylessIdentity
from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.go_sandbox import GoSandbox, SandboxCaches
from seamline.adapters.go_toolchain import GoToolchain
from seamline.adapters.kustomize import Kustomize
from seamline.adapters.registry import RegistryClient
from seamline.adapters.syft import Syft
from seamline.adapters.trivy import Trivy
from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.stack.signing_key import SigningKey
from seamline.tools.pins import locate


@dataclass(frozen=True)
class Toolbox:
    settings: Settings

    @property
    def cache_dir(self) -> Path:
        return self.settings.state_dir / "cache"

    def go(self) -> GoToolchain:
        return GoToolchain(go=locate("go", self.settings.tools_dir))

    @property
    def module_cache(self) -> Path:
        """Go modules, downloaded on the host, read-only in every sandbox."""
        return self.cache_dir / "sandbox" / "modules"

    def sandbox_caches(self, repository: str, trust: str) -> SandboxCaches:
        """Build caches per trust class, and untrusted ones per repository: untrusted code
        never plants build results that trusted checks, or another repository's pull
        requests, would reuse. Trusted runs (merged code of onboarded repositories) share
        theirs, as one organisation's CI runners share a cache."""
        root = self.cache_dir / "sandbox"
        owner = "shared"
        if trust != "trusted":
            owner = hashlib.sha256(repository.encode()).hexdigest()[:16]
        return SandboxCaches(
            go_build=root / owner / trust / "go-build",
            lint=root / owner / trust / "golangci-lint",
            modules=self.module_cache,
        )

    def go_sandbox(self, *, repository: str, trust: str, image: str) -> GoSandbox:
        """Where the repository's own code runs."""
        engine = self.docker()
        sandbox = GoSandbox(
            client=engine.client,
            image=image,
            golangci_lint=locate("golangci-lint", self.settings.tools_dir),
            caches=self.sandbox_caches(repository, trust),
            threads=self.settings.go_max_procs(),
            memory=self.settings.sandbox_memory,
        )
        sandbox.prepare()
        return sandbox

    def docker(self) -> DockerEngine:
        return DockerEngine.connect(self.settings.docker_host)

    def registry(self) -> RegistryClient:
        return RegistryClient.for_url(self.settings.registry_url)

    def trivy(self, db_digest: str = "") -> Trivy:
        """Trivy with a cache folder per DB digest: a new DB never meets an old cache. An
        upstream DB (no digest) keeps one folder and trivy's own update schedule."""
        pinned = db_digest.startswith("sha256:")
        folder = db_digest.removeprefix("sha256:")[:16] if pinned else "upstream"
        return Trivy(
            pinned=pinned,
            binary=locate("trivy", self.settings.tools_dir),
            cache_dir=self.cache_dir / "trivy" / folder,
            db_repository=self.settings.trivy_db(),
            docker_host=self.settings.docker_host,
        )

    def syft(self) -> Syft:
        return Syft(
            binary=locate("syft", self.settings.tools_dir),
            cache_dir=self.cache_dir / "syft",
            insecure_http=True,
        )

    def cosign(self) -> Cosign:
        """Key mode on the local stack; keyless (OIDC token) when the settings say so."""
        if self.settings.signing_mode == "key":
            return SigningKey(self.settings).cosign()
        s = self.settings
        if s.oidc_token is None or not s.certificate_identity or not s.certificate_oidc_issuer:
            raise UsageError(
                "keyless signing needs an OIDC identity token and the identity to verify",
                hint="set SEAMLINE_OIDC_TOKEN, SEAMLINE_CERTIFICATE_IDENTITY and "
                "SEAMLINE_CERTIFICATE_OIDC_ISSUER, or SEAMLINE_SIGNING_MODE=key",
            )
        return Cosign.keyless_mode(
            binary=locate("cosign", s.tools_dir),
            identity=KeylessIdentity(
                identity_token=s.oidc_token,
                certificate_identity=s.certificate_identity,
                certificate_oidc_issuer=s.certificate_oidc_issuer,
                fulcio_url=s.fulcio_url,
                rekor_url=s.rekor_url,
            ),
        )

    def kustomize(self) -> Kustomize:
        return Kustomize(binary=locate("kustomize", self.settings.tools_dir))
