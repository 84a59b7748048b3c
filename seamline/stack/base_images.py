"""Mirrored base images, built locally and pushed to the local registry.

Offline there is no Docker Hub or gcr, so seamline builds (a) a Go builder image from the
machine's Go toolchain and a static busybox, and (b) a distroless-style static runtime
(non-root 65532, CA certificates, tzdata, no shell). Online users point
SEAMLINE_GO_BUILDER_IMAGE / SEAMLINE_RUNTIME_IMAGE at upstream images instead. Both are also
pushed under ``mirror/`` as the stand-ins for the upstream names real Dockerfiles use
(``seamline.bases.stand_ins``), for ``[pipeline.base_images]`` to map to.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.go_toolchain import GoToolchain
from seamline.adapters.registry import RegistryClient
from seamline.adapters.toolbox import builder_tag
from seamline.bases.stand_ins import stand_ins
from seamline.config.build_network import proxy_url
from seamline.config.settings import Settings
from seamline.errors import ToolMissing
from seamline.stack.model import ComponentStatus
from seamline.stack.rootfs import (
    BUILDER_GOCACHE,
    NONROOT_UID,
    write_go_builder_rootfs,
    write_static_rootfs,
)
from seamline.tools.process import run
from seamline.validate.image_ref import ImageRef

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ZONEINFO = Path("/usr/share/zoneinfo")
BUSYBOX = Path("/bin/busybox")
HOST_FILES_HINT = "run `make setup` (as root it installs ca-certificates, tzdata, busybox-static)"


class BaseImages:
    name = "base-images"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._registry = RegistryClient.for_url(settings.registry_url)

    def references(self) -> dict[str, str]:
        return {
            "go-builder": self._settings.go_builder(builder_tag(self._settings)),
            "runtime": self._settings.runtime(),
        }

    def stand_ins(self) -> dict[str, tuple[str, ...]]:
        """Local base name -> its ``mirror/`` references."""
        go = GoToolchain.located(self._settings.tools_dir).version()
        return stand_ins(self._settings.registry, go)

    def _missing(self) -> list[str]:
        wanted = list(self.references().values())
        wanted += [ref for refs in self.stand_ins().values() for ref in refs]
        return [ref for ref in wanted if not self._published(ref)]

    def _published(self, reference: str) -> bool:
        ref = ImageRef.parse(reference)
        repository = ref.repository_in(self._settings.registry)
        return self._registry.manifest_digest(repository, ref.tag_or_latest) is not None

    def status(self) -> ComponentStatus:
        if not self._settings.mirror_base_images:
            return ComponentStatus(self.name, True, "mirroring off: upstream base images")
        if not self._registry.ping():
            return ComponentStatus(self.name, False, "registry down", "run `seamline stack up`")
        missing = self._missing()
        if missing:
            return ComponentStatus(
                self.name,
                False,
                f"not in registry: {', '.join(missing)}",
                "run `seamline stack up`",
            )
        return ComponentStatus(self.name, True, ", ".join(self.references().values()))

    def up(self) -> None:
        if not self._settings.mirror_base_images:
            return
        missing = self._missing()
        if not missing:
            return
        for path in (CA_BUNDLE, ZONEINFO, BUSYBOX):
            if not path.exists():
                raise ToolMissing(f"{path} is missing on this machine", hint=HOST_FILES_HINT)
        refs = self.references()
        engine = DockerEngine.connect(self._settings.docker_host)
        work = self._settings.state_dir / "mirror"
        work.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                if refs["runtime"] in missing:
                    self._build_runtime(engine, Path(tmp) / "runtime.tar", refs["runtime"])
                if refs["go-builder"] in missing:
                    self._build_go_builder(engine, Path(tmp) / "go.tar", refs["go-builder"])
            self._push_stand_ins(engine, refs, missing)
        finally:
            engine.close()

    def _push_stand_ins(
        self, engine: DockerEngine, refs: dict[str, str], missing: list[str]
    ) -> None:
        """Tag each local base under its missing ``mirror/`` names and push those; a base
        built anew (a new recipe) replaces all of its stand-ins."""
        for base, mirrors in self.stand_ins().items():
            rebuilt = refs[base] in missing
            wanted = [ref for ref in mirrors if rebuilt or ref in missing]
            if not wanted:
                continue
            if not engine.has_image(refs[base]):
                engine.pull(refs[base])
            for mirror in wanted:
                engine.tag(refs[base], mirror)
                engine.push(mirror)

    def _build_runtime(self, engine: DockerEngine, tarball: Path, reference: str) -> None:
        write_static_rootfs(tarball, ca_bundle=CA_BUNDLE, zoneinfo=ZONEINFO)
        engine.import_rootfs(
            tarball,
            reference,
            changes=[
                f"USER {NONROOT_UID}:{NONROOT_UID}",
                "WORKDIR /home/nonroot",
                "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                "ENV PATH=/usr/local/bin:/usr/bin:/bin",
            ],
        )
        engine.push(reference)

    def _build_go_builder(self, engine: DockerEngine, tarball: Path, reference: str) -> None:
        go = GoToolchain.located(self._settings.tools_dir)
        applets = run([str(BUSYBOX), "--list"]).stdout.split()
        gocache = tarball.parent / "go-build-cache"
        go.build_std(gocache)
        write_go_builder_rootfs(
            tarball,
            goroot=go.goroot(),
            busybox=BUSYBOX,
            applets=applets,
            ca_bundle=CA_BUNDLE,
            gocache=gocache,
        )
        engine.import_rootfs(
            tarball,
            reference,
            changes=[
                "ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/bin:/usr/bin:/bin",
                "ENV GOPATH=/go",
                f"ENV GOCACHE={BUILDER_GOCACHE}",
                "ENV GOTOOLCHAIN=local",
                "ENV CGO_ENABLED=0",
                # The build network's one door (seamline.config.build_network); the checksum
                # database is reached through it too (GOSUMDB stays sum.golang.org).
                f"ENV GOPROXY={proxy_url(self._settings.goproxy_port)}",
                "WORKDIR /src",
            ],
        )
        engine.push(reference)

    def down(self) -> None:
        """Images live in the registry; nothing runs."""
