"""The BuildKit builder with the real buildkitd and buildctl (run as root, as the stack
runs them) and a registry of the test's own: one commit's files built from two fresh
copies, each by a buildkitd with an empty cache, give one digest; a changed input file
gives another. The image's times are the commit's, and RUN steps had no network."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from seamline.adapters.buildkit import BuildKit
from seamline.adapters.registry import RegistryClient
from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy
from seamline.config.settings import Settings
from seamline.stack.buildkit_service import BuildkitService
from tests.tools.private_registry import private_registry

COMMIT_TIME = 1767225600  # 2026-01-01T00:00:00Z
# Shaped like the Bookstore's: a build stage from GO_BUILDER_IMAGE, a runtime stage from
# RUNTIME_IMAGE; RUN steps write files (stamped with the clock's time as they run) and
# record whether the registry, on the host's loopback, was reachable from them.
DOCKERFILE = """\
ARG GO_BUILDER_IMAGE
ARG RUNTIME_IMAGE
FROM ${GO_BUILDER_IMAGE} AS build
ARG PROBE_URL
WORKDIR /out
COPY message.txt ./
RUN cp message.txt built.txt && mkdir made \
 && (wget -q -O /dev/null "$PROBE_URL" && echo online || echo offline) > network.txt
FROM ${RUNTIME_IMAGE}
COPY --from=build /out /srv
"""


@dataclass(frozen=True)
class Registry:
    address: str  # host:port
    client: RegistryClient


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry of this test's own (``tests.tools.private_registry``)."""
    with private_registry(tmp_path_factory.mktemp("registry")) as address:
        client = RegistryClient.for_url(f"http://{address}")
        try:
            yield Registry(address, client)
        finally:
            client.close()


def _busybox_layer() -> tuple[bytes, str]:
    """Debian's static busybox as /bin/sh in one gzipped layer, and its diff id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo("bin")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        data = Path("/bin/busybox").read_bytes()
        binary = tarfile.TarInfo("bin/busybox")
        binary.size, binary.mode = len(data), 0o755
        tar.addfile(binary, io.BytesIO(data))
        for name in ("sh", "cp", "mkdir", "wget", "echo"):
            link = tarfile.TarInfo(f"bin/{name}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return gzip.compress(raw.getvalue(), mtime=0), "sha256:" + hashlib.sha256(
        raw.getvalue()
    ).hexdigest()


@pytest.fixture(scope="module")
def base_image(registry: Registry) -> str:
    """A busybox image pushed to the test's registry: nothing is pulled from outside."""
    repository = "test/busybox"
    layer, diff_id = _busybox_layer()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {"Env": ["PATH=/bin"]},
    }
    client = registry.client
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": client.push_blob(
            repository, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"
        ).as_json(),
        "layers": [
            client.push_blob(
                repository, layer, "application/vnd.oci.image.layer.v1.tar+gzip"
            ).as_json()
        ],
    }
    client.put_manifest(repository, "1", manifest)
    return f"{registry.address}/{repository}:1"


@dataclass(frozen=True)
class Daemon:
    service: BuildkitService
    settings: Settings

    def fresh(self) -> None:
        """A buildkitd with nothing cached: what another machine would build with."""
        self.service.down()
        shutil.rmtree(self.settings.local_buildkit_dir / "root", ignore_errors=True)
        self.service.up()
        assert self.service.status().healthy


@pytest.fixture(scope="module")
def buildkitd(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Daemon]:
    """The stack's buildkitd component, with its state, config and socket in a temp folder
    and this test's registry in its config."""
    yield from daemon(daemon_settings(tmp_path_factory.mktemp("bk"), registry))


def daemon_settings(state_dir: Path, registry: Registry) -> Settings:
    """Settings of a buildkitd with its state, config and socket under ``state_dir`` and
    ``registry`` in its config; its builds have no network (the build network and its
    module proxy are the stack's)."""
    host, port = registry.address.split(":")
    return Settings(
        state_dir=state_dir,
        registry_host=host,
        registry_port=int(port),
        image_builder="buildkit",
        buildkit_host="",
        goproxy=False,
    )


def daemon(settings: Settings) -> Iterator[Daemon]:
    service = BuildkitService(settings)
    try:
        yield Daemon(service, settings)
    finally:
        service.down()


def _checkout(dest: Path, message: str) -> Path:
    """A fresh copy of the commit's files (new inode times, as a new clone has)."""
    dest.mkdir()
    (dest / "Dockerfile").write_text(DOCKERFILE)
    (dest / "message.txt").write_text(message)
    return dest


def _builder(settings: Settings) -> BuildKit:
    return BuildKit(
        buildctl=settings.tools_dir / "buildctl",
        address=settings.buildkit_address(),
        registry=RegistryClient.for_url(settings.registry_url),
        registry_host=settings.registry,
    )


def _build_args(settings: Settings, base: str) -> dict[str, str]:
    return {
        "GO_BUILDER_IMAGE": base,
        "RUNTIME_IMAGE": base,
        "PROBE_URL": f"{settings.registry_url}/v2/",
    }


LABELS = {"org.opencontainers.image.created": "2026-01-01T00:00:00+00:00"}


def _build(
    daemon: Daemon, registry: Registry, base: str, context: Path, dockerfile: str = "Dockerfile"
) -> str:
    daemon.fresh()
    settings = daemon.settings
    builder = _builder(settings)
    tag = f"{registry.address}/test/tiny:{context.name}"
    try:
        digest = builder.build(
            context=context,
            dockerfile=dockerfile,
            tag=tag,
            build_args=_build_args(settings, base),
            labels=LABELS,
            source_date_epoch=COMMIT_TIME,
        )
        assert builder.push(tag) == digest  # the registry holds what the build pushed
        return digest
    finally:
        builder.close()


def _blob(registry: Registry, digest: str) -> bytes:
    answer = httpx.get(f"http://{registry.address}/v2/test/tiny/blobs/{digest}", timeout=30)
    answer.raise_for_status()
    return answer.content


def test_one_commit_built_twice_from_fresh_copies_gives_one_digest(
    tmp_path: Path, registry: Registry, base_image: str, buildkitd: Daemon
) -> None:
    first = _build(buildkitd, registry, base_image, _checkout(tmp_path / "one", "hello\n"))
    time.sleep(1.1)  # the second build's files are written a second later
    second = _build(buildkitd, registry, base_image, _checkout(tmp_path / "two", "hello\n"))
    assert first == second
    changed = _build(buildkitd, registry, base_image, _checkout(tmp_path / "three", "hello!\n"))
    assert changed != first

    manifest = registry.client.manifest("test/tiny", first)
    assert manifest is not None
    config = json.loads(_blob(registry, manifest["config"]["digest"]))
    assert config["created"] == "2026-01-01T00:00:00Z"
    assert {entry["created"] for entry in config["history"]} == {"2026-01-01T00:00:00Z"}
    assert config["config"]["Labels"]["org.opencontainers.image.created"] == (
        "2026-01-01T00:00:00+00:00"
    )
    top = _blob(registry, manifest["layers"][-1]["digest"])
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(top))) as layer:
        members = {m.name: m for m in layer.getmembers()}
        assert {m.mtime for m in members.values()} == {COMMIT_TIME}
        network = layer.extractfile(members["srv/network.txt"])
        assert network is not None and network.read() == b"offline\n"
        built = layer.extractfile(members["srv/built.txt"])
        assert built is not None and built.read() == b"hello\n"


# The same build as DOCKERFILE, its bases named upstream as real Dockerfiles name them, the
# build stage on the build platform.
UPSTREAM_DOCKERFILE = DOCKERFILE.replace(
    "FROM ${GO_BUILDER_IMAGE} AS build",
    "FROM --platform=$BUILDPLATFORM example.org/busybox:1 AS build",
).replace("FROM ${RUNTIME_IMAGE}", "FROM example.org/busybox:1")


def test_the_build_copy_outside_the_context_builds_what_naming_the_mirror_builds(
    tmp_path: Path, registry: Registry, base_image: str, buildkitd: Daemon
) -> None:
    """seamline's copy naming the mirror, written outside the context, is the Dockerfile
    buildkitd builds; --platform=$BUILDPLATFORM stays for BuildKit to set, and the image is
    the one a Dockerfile naming the mirror by hand gives."""
    direct = _build(buildkitd, registry, base_image, _checkout(tmp_path / "direct", "hello\n"))
    builder = _builder(buildkitd.settings)
    try:
        platform = builder.platform()
        assert platform["BUILDPLATFORM"] == platform["TARGETPLATFORM"] == "linux/amd64"
        assert builder.has_image(base_image)
        assert not builder.has_image(f"{registry.address}/test/absent:1")
        assert not builder.has_image("example.org/busybox:1")
    finally:
        builder.close()
    context = _checkout(tmp_path / "mapped", "hello\n")
    (context / "Dockerfile").write_text(UPSTREAM_DOCKERFILE)
    copy = build_copy(
        UPSTREAM_DOCKERFILE,
        mapping=BaseImageMap(entries={"example.org/busybox": base_image}),
        build_args={},
        platform_args=platform,
        resolve_platform_flags=not builder.sets_platform_args,
    )
    assert f"FROM --platform=$BUILDPLATFORM {base_image} AS build" in copy.text
    outside = tmp_path / "copy"
    outside.mkdir()
    (outside / "Dockerfile.seamline").write_text(copy.text)
    mapped = _build(buildkitd, registry, base_image, context, str(outside / "Dockerfile.seamline"))
    assert mapped == direct
    assert (context / "Dockerfile").read_text() == UPSTREAM_DOCKERFILE


def test_a_layout_build_pushes_nothing_and_names_the_digest_a_push_gives(
    tmp_path: Path, registry: Registry, base_image: str, buildkitd: Daemon
) -> None:
    """A run that releases nothing builds into an OCI layout folder: the registry gets no
    tag, and the folder holds the image a push of the same commit puts in the registry."""
    context = _checkout(tmp_path / "layout-commit", "layout\n")
    pushed = _build(buildkitd, registry, base_image, context)
    builder = _builder(buildkitd.settings)
    layout = tmp_path / "layouts" / "run" / "tiny"
    try:
        digest = builder.build(
            context=context,
            dockerfile="Dockerfile",
            tag=f"{registry.address}/test/tiny:never-pushed",
            build_args=_build_args(buildkitd.settings, base_image),
            labels=LABELS,
            source_date_epoch=COMMIT_TIME,
            layout=layout,
        )
    finally:
        builder.close()
    assert digest == pushed
    assert registry.client.manifest_digest("test/tiny", "never-pushed") is None
    index = json.loads((layout / "index.json").read_text())
    assert digest in {m["digest"] for m in index["manifests"]}, index
    assert (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).is_file()
