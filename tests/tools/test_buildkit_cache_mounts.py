"""A pull request cannot poison a release's BuildKit cache mounts: on one real buildkitd,
an untrusted build writes a marker into a cache mount, and a release build reading the
same cache target does not see it, whether its build copy names the mount's id under
``seamline-untrusted/`` or BuildKit's cache namespace (``BUILDKIT_CACHE_MOUNT_NS``) sets
one. Without either it would (the control)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy
from tests.tools import test_buildkit_reproducible as bk

# The module-scoped registry and busybox base of the reproducibility tests, started again
# for this module.
registry = bk.registry
base_image = bk.base_image


@pytest.fixture(scope="module")
def buildkitd(
    tmp_path_factory: pytest.TempPathFactory, registry: bk.Registry
) -> Iterator[bk.Daemon]:
    """A buildkitd of this module's own, state and socket in a temp folder; RUN steps
    without a network (nothing here fetches)."""
    state = tmp_path_factory.mktemp("bk-cache")
    yield from bk.daemon(bk.daemon_settings(state, registry))


POISON = """\
ARG GO_BUILDER_IMAGE
FROM ${GO_BUILDER_IMAGE}
RUN --mount=type=cache,target=/root/.cache/go-build \\
    echo poisoned-NONCE > /root/.cache/go-build/marker
"""
RELEASE = """\
ARG GO_BUILDER_IMAGE
FROM ${GO_BUILDER_IMAGE}
RUN --mount=type=cache,target=/root/.cache/go-build \\
    if [ -f /root/.cache/go-build/marker ]; then echo seen; else echo clean; fi \\
    > /seen-NONCE
"""


def _build(
    daemon: bk.Daemon,
    registry: bk.Registry,
    base: str,
    folder: Path,
    text: str,
    *,
    untrusted: bool,
    namespace: str = "",
) -> Path:
    """``text`` built as seamline builds it (its build copy, outside the context) into an
    OCI layout folder; the layout."""
    copy = build_copy(text, mapping=BaseImageMap(entries={}), build_args={}, untrusted=untrusted)
    assert copy.cache_refusals == ()
    context = folder / "context"
    context.mkdir(parents=True)
    (folder / "Dockerfile.seamline").write_text(copy.text)
    builder = bk._builder(daemon.settings)
    try:
        builder.build(
            context=context,
            dockerfile=str(folder / "Dockerfile.seamline"),
            tag=f"{registry.address}/test/cache:{folder.name}",
            build_args={"GO_BUILDER_IMAGE": base}
            | ({"BUILDKIT_CACHE_MOUNT_NS": namespace} if namespace else {}),
            labels=bk.LABELS,
            source_date_epoch=bk.COMMIT_TIME,
            layout=folder / "layout",
        )
    finally:
        builder.close()
    return folder / "layout"


def _file(layout: Path, name: str) -> str:
    """A file of the image's last layer in ``layout``."""
    blobs = layout / "blobs" / "sha256"
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].removeprefix("sha256:")
    manifest = json.loads((blobs / digest).read_bytes())
    layer = manifest["layers"][-1]["digest"].removeprefix("sha256:")
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress((blobs / layer).read_bytes()))) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read().decode().strip()


def test_an_untrusted_build_does_not_share_a_cache_mount_with_a_release(
    tmp_path: Path, registry: bk.Registry, base_image: str, buildkitd: bk.Daemon
) -> None:
    buildkitd.fresh()

    def release_sees(nonce: str) -> str:
        text = RELEASE.replace("NONCE", nonce)  # a new step: not answered from BuildKit's cache
        layout = _build(buildkitd, registry, base_image, tmp_path / nonce, text, untrusted=False)
        return _file(layout, f"seen-{nonce}")

    poison = POISON.replace("NONCE", "1")
    _build(buildkitd, registry, base_image, tmp_path / "pr", poison, untrusted=True)
    assert release_sees("after-pr") == "clean"
    # BuildKit's cache namespace, which the image stage adds for such builds, alone too
    raw = POISON.replace("NONCE", "2")
    _build(buildkitd, registry, base_image, tmp_path / "ns", raw, untrusted=False, namespace="x")
    assert release_sees("after-ns") == "clean"
    # the control: the same pull request's Dockerfile as written shares the release's cache
    _build(buildkitd, registry, base_image, tmp_path / "raw", poison, untrusted=False)
    assert release_sees("after-raw") == "seen"
