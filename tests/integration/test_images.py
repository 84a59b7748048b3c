"""The Bookstore images build from the mirrored bases, run as 65532 and carry no shell."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import pytest

from seamline.adapters.registry import RegistryClient
from seamline.config.settings import Settings
from seamline.validate.image_ref import ImageRef
from tests.integration.conftest import BuiltImage

SERVICES = ["catalog", "orders", "payments-worker", "storefront"]


@pytest.mark.parametrize("name", SERVICES)
def test_image_is_in_registry_by_digest(
    name: str, bookstore_images: dict[str, BuiltImage], settings: Settings
) -> None:
    image = bookstore_images[name]
    registry = RegistryClient.for_url(settings.registry_url)
    reference = ImageRef.parse(image.reference)
    repository = reference.repository_in(settings.registry)
    assert image.digest.startswith("sha256:") and len(image.digest) == 71
    assert registry.manifest_digest(repository, reference.tag_or_latest) == image.digest
    assert registry.manifest_digest(repository, image.digest) == image.digest


@pytest.mark.parametrize("name", SERVICES)
def test_image_runs_as_nonroot_without_shell(
    name: str, bookstore_images: dict[str, BuiltImage], settings: Settings
) -> None:
    client = docker.DockerClient(base_url=settings.docker_host)
    image = bookstore_images[name]
    assert client.images.get(image.reference).attrs["Config"]["User"] == "65532:65532"
    container = client.containers.run(image.reference, detach=True, network_mode="none")
    try:
        uid = _wait_for_uid(container.attrs["Id"], client)
        assert uid == "65532"
        with pytest.raises(docker.errors.NotFound):
            container.get_archive("/bin/sh")
        with pytest.raises(docker.errors.NotFound):
            container.get_archive("/bin/busybox")
    finally:
        container.remove(force=True)
        client.close()


def _wait_for_uid(container_id: str, client: docker.DockerClient) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = client.api.inspect_container(container_id)["State"]
        if state["Running"] and state["Pid"]:
            status = Path(f"/proc/{state['Pid']}/status").read_text()
            return next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        if state["Status"] == "exited":
            raise AssertionError(f"container exited: {client.api.logs(container_id)!r}")
        time.sleep(0.2)
    raise AssertionError("container did not start within 20 s")


def test_vulnerable_fixture_builds(vulnerable_image: BuiltImage) -> None:
    assert vulnerable_image.digest.startswith("sha256:")
