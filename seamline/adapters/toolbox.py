"""Builds each adapter from the settings: the one place that knows where tools live.

Tasks ask it for a role (``seamline.adapters.roles``) and get the backend the settings
choose: the local stack's by default, a user's own key, registry or images when set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from seamline.adapters.buildkit import BuildKit
from seamline.adapters.cosign import Cosign, KeylessIdentity, is_key_uri
from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.git_repo import GitHistory, GitRemote
from seamline.adapters.github import ACCESS_HINT, GitHubPulls
from seamline.adapters.go_sandbox import GoSandbox, SandboxCaches
from seamline.adapters.go_toolchain import GoToolchain
from seamline.adapters.kustomize import Kustomize
from seamline.adapters.registry import RegistryClient
from seamline.adapters.roles import (
    GitOpsRemote,
    HealthCheck,
    ImageBuilder,
    ManifestEditor,
    PullRequests,
    SbomGenerator,
    Scanner,
    Signer,
    SourceHistory,
)
from seamline.adapters.syft import Syft
from seamline.adapters.trivy import Trivy
from seamline.config.build_network import (
    BUILDKIT_BRIDGE,
    DOCKER_BRIDGE,
    DOCKER_NETWORK,
    PROXY_HOST,
)
from seamline.config.secret_file import read_secret_file
from seamline.config.settings import Settings
from seamline.errors import StateCorrupt, UsageError
from seamline.tools.pins import locate

LOCAL_KEY_HINT = "run `seamline stack up` (it generates the local key) or set SEAMLINE_SIGNING_KEY"


# Part of the local Go builder image's tag (`seamline/go-builder:<go version>-r<recipe>`):
# bump when what goes into that image changes.
BUILDER_RECIPE = 3


def builder_tag(settings: Settings) -> str:
    """The tag of the Go builder image the local stack builds from this machine's Go."""
    return f"{GoToolchain.located(settings.tools_dir).version()}-r{BUILDER_RECIPE}"


@dataclass(frozen=True)
class Toolbox:
    settings: Settings

    @property
    def cache_dir(self) -> Path:
        return self.settings.state_dir / "cache"

    def go(self) -> GoToolchain:
        """Go on the host; its module downloads go through the stack's module proxy (so
        builds find them in its cache), else straight to the proxy's upstream."""
        proxy = ""
        if self.settings.goproxy:
            gateway = f"http://{DOCKER_BRIDGE.gateway}:{self.settings.goproxy_port}"
            proxy = f"{gateway}|{self.settings.goproxy_upstream}"
        return GoToolchain(go=locate("go", self.settings.tools_dir), proxy=proxy)

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
        """The Docker Engine; its builds' `RUN` steps are on the fenced build network
        (``SEAMLINE_GOPROXY``), else without network."""
        if not self.settings.goproxy:
            return DockerEngine.connect(self.settings.docker_host)
        return DockerEngine.connect(
            self.settings.docker_host,
            build_network=DOCKER_NETWORK,
            extra_hosts={PROXY_HOST: DOCKER_BRIDGE.gateway},
        )

    def image_builder(self) -> ImageBuilder:
        """Builds and pushes images, with the builder the settings choose; close it after
        use."""
        if self.settings.image_builder == "buildkit":
            return self.buildkit()
        return self.docker()

    def buildkit(self) -> BuildKit:
        """BuildKit against the settings' buildkitd, whichever builder CI uses; close it
        after use."""
        return BuildKit(
            buildctl=locate("buildctl", self.settings.tools_dir),
            address=self.settings.buildkit_address(),
            registry=self.registry(),
            registry_host=self.settings.registry,
            add_hosts=self._buildkit_hosts(),
        )

    def _buildkit_hosts(self) -> dict[str, str] | None:
        """The stack's buildkitd runs `RUN` on its fenced CNI bridge; a buildkitd of one's
        own (SEAMLINE_BUILDKIT_HOST) has a network seamline does not fence: none there."""
        if not self.settings.goproxy or self.settings.buildkit_host:
            return None
        return {PROXY_HOST: BUILDKIT_BRIDGE.gateway}

    def base_images(self) -> dict[str, str]:
        """The base images Dockerfiles build from, as build args: the settings' own, or
        the ones the local stack builds and mirrors."""
        builder = self.settings.go_builder_image
        if not builder:
            builder = self.settings.go_builder(builder_tag(self.settings))
        return {"GO_BUILDER_IMAGE": builder, "RUNTIME_IMAGE": self.settings.runtime()}

    def registry(self) -> RegistryClient:
        return RegistryClient.for_url(self.settings.registry_url)

    def scanner(self, db_digest: str = "") -> Scanner:
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
            db_digest=db_digest if pinned else "",
        )

    def sbom_generator(self) -> SbomGenerator:
        return Syft(
            binary=locate("syft", self.settings.tools_dir),
            cache_dir=self.cache_dir / "syft",
            insecure_http=True,
        )

    def signer(self) -> Signer:
        """Key mode (the local stack's key, a key file or a KMS key); keyless (OIDC token)
        when the settings say so."""
        if self.settings.signing_mode == "key":
            return self._key_signer()
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

    def _key_signer(self) -> Cosign:
        s = self.settings
        key = s.signing_key_ref()
        public = s.signing_public_key_ref()
        password = s.cosign_password
        if is_key_uri(key):  # the KMS holds the key; nothing to read here
            return Cosign.from_key(binary=locate("cosign", s.tools_dir), key=key, public_key=public)
        for path in (key, public):
            if is_key_uri(path) or Path(path).is_file():
                continue
            if not s.signing_key:
                raise StateCorrupt(f"the local signing key {path} is missing", hint=LOCAL_KEY_HINT)
            raise UsageError(
                f"the signing key {path} does not exist",
                hint="point SEAMLINE_SIGNING_KEY (and SEAMLINE_SIGNING_PUBLIC_KEY) at an "
                "existing key pair, or at a KMS key URI",
            )
        where = s.signing_password_path()
        if password is None and where is not None:
            hint = LOCAL_KEY_HINT
            if s.signing_key or s.signing_password_file:
                hint = "write the key's password to the 0600 file SEAMLINE_SIGNING_PASSWORD_FILE "
                hint += "names, or set SEAMLINE_COSIGN_PASSWORD"
            password = read_secret_file(where, hint=hint)
        return Cosign.from_key(
            binary=locate("cosign", s.tools_dir), key=key, public_key=public, password=password
        )

    def manifest_editor(self) -> ManifestEditor:
        return Kustomize(binary=locate("kustomize", self.settings.tools_dir))

    def gitops_remote(self) -> GitOpsRemote:
        return GitRemote(
            url=self.settings.default_gitops_remote(), branch=self.settings.gitops_branch
        )

    def pull_requests(self) -> PullRequests | None:
        """The forge that opens the GitOps repository's pull requests; None when none is
        configured (the local stack's bare remote). Close it after use."""
        s = self.settings
        if not s.forge_repository:
            return None
        token = s.forge_token
        if token is None and s.forge_token_file is not None:
            token = read_secret_file(s.forge_token_file, hint=ACCESS_HINT)
        if token is None or not token.get_secret_value():
            raise UsageError(
                f"opening pull requests on {s.forge_repository} needs a token", hint=ACCESS_HINT
            )
        return GitHubPulls.connect(
            api_url=s.forge_api_url, repository=s.forge_repository, token=token
        )

    def source_history(self, checkout: Path) -> SourceHistory:
        return GitHistory(checkout)

    def health_checks(self) -> list[HealthCheck]:
        """What the pipeline relies on, each able to report its health: the local stack's
        components."""
        from seamline.stack.stack import components

        return list(components(self.settings))
