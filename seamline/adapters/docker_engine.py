"""The Docker Engine, through the Docker SDK."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker import DockerClient
from docker.types import IPAMConfig, IPAMPool

from seamline.adapters.build_failure import build_failure
from seamline.adapters.platform import platform_args
from seamline.errors import ServiceUnavailable, ToolFailed, UsageError
from seamline.tools.limits import heavy
from seamline.tools.process import timed
from seamline.validate.image_ref import ImageRef


class DockerEngine:
    pushes = False
    sets_platform_args = False  # the classic builder: --platform values come resolved
    buildkit_frontend = False  # no cache mounts, no # syntax=

    def __init__(
        self,
        *,
        client: DockerClient,
        build_network: str = "none",
        extra_hosts: Mapping[str, str] | None = None,
    ) -> None:
        """``build_network``: the network `RUN` steps join ("none": no network);
        ``extra_hosts``: names they resolve (host -> address)."""
        self._client = client
        self._build_network = build_network
        self._extra_hosts = dict(extra_hosts or {})

    @property
    def client(self) -> DockerClient:
        return self._client

    @classmethod
    def connect(
        cls,
        base_url: str,
        *,
        timeout: int = 600,
        build_network: str = "none",
        extra_hosts: Mapping[str, str] | None = None,
    ) -> DockerEngine:
        try:
            client = DockerClient(base_url=base_url, timeout=timeout)
        except docker.errors.DockerException as e:
            raise ServiceUnavailable(
                f"cannot reach the Docker Engine at {base_url}: {e}",
                hint="run `seamline stack up` (starts dockerd as root) or set SEAMLINE_DOCKER_HOST",
            ) from e
        return cls(client=client, build_network=build_network, extra_hosts=extra_hosts)

    @staticmethod
    def reachable(base_url: str) -> bool:
        try:
            client = DockerClient(base_url=base_url, timeout=5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # any failure to talk means: not reachable
            return False

    def import_rootfs(self, tarball: Path, reference: str, changes: list[str]) -> None:
        ref = ImageRef.parse(reference)
        try:
            self._client.api.import_image_from_file(
                str(tarball), repository=ref.name, tag=ref.tag_or_latest, changes=changes
            )
        except docker.errors.APIError as e:
            raise ToolFailed(f"docker import of {reference} failed: {e}") from e

    def build(
        self,
        *,
        context: Path,
        dockerfile: str,
        tag: str,
        build_args: dict[str, str],
        labels: dict[str, str] | None = None,
        source_date_epoch: int = 0,
        layout: Path | None = None,
        fresh_stage: str = "",
    ) -> str:
        """Build with the classic builder, `RUN` on the build network only (none unless
        given); return the image id. The
        classic builder stamps the clock's time into the image whatever
        ``source_date_epoch`` says: only the labels carry the commit's time. The image
        stays in the engine, pushed by ``push`` only; it has no OCI layout output."""
        if layout is not None:
            raise UsageError(
                f"the Docker Engine builds {tag} into its own image store, not into {layout}",
                hint="set SEAMLINE_IMAGE_BUILDER=buildkit to build into an OCI layout folder",
            )
        try:
            with heavy("image build"), timed("docker build"):
                image, _logs = self._client.images.build(
                    path=str(context),
                    dockerfile=dockerfile,
                    tag=tag,
                    buildargs=build_args,
                    labels=labels or {},
                    network_mode=self._build_network,
                    extra_hosts=self._extra_hosts or None,
                    rm=True,
                    forcerm=True,
                )
        except docker.errors.BuildError as e:
            output = "".join(str(chunk.get("stream", "")) for chunk in e.build_log)
            raise build_failure(tag, str(e.msg), output) from e
        except docker.errors.APIError as e:
            if e.status_code == 400:  # the daemon refused the Dockerfile itself
                raise build_failure(tag, str(e.explanation or e), "") from e
            raise ToolFailed(f"docker build of {tag} failed: {e.explanation or e}") from e
        return str(image.id)

    def ensure_network(self, name: str, *, bridge: str, subnet: str, gateway: str) -> None:
        """An internal bridge network ``name`` (no default route in its containers) on the
        Linux bridge ``bridge`` with ``subnet``, the host at ``gateway``, no masquerading;
        kept when it is already so, made anew when it is not."""
        try:
            found = self._client.networks.list(names=[name])
            for network in found:
                if network.name != name:
                    continue
                configs = (network.attrs.get("IPAM") or {}).get("Config") or []
                options = network.attrs.get("Options") or {}
                if (
                    any(
                        c.get("Subnet") == subnet
                        and str(c.get("Gateway", "")).split("/")[0] == gateway
                        for c in configs
                    )
                    and options.get("com.docker.network.bridge.name") == bridge
                    and network.attrs.get("Internal") is True
                ):
                    return
                network.remove()  # set up otherwise (fails while a container is on it)
            self._client.networks.create(
                name,
                driver="bridge",
                internal=True,
                ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)]),
                options={
                    "com.docker.network.bridge.name": bridge,
                    "com.docker.network.bridge.enable_ip_masquerade": "false",
                },
                labels={"dev.seamline.role": "build-network"},
            )
        except docker.errors.APIError as e:
            raise ToolFailed(
                f"setting up the Docker network {name} failed: {e}",
                hint=f"stop the containers on it, or remove it (`docker network rm {name}`), "
                "and run `seamline stack up` again",
            ) from e

    def remove_network(self, name: str) -> None:
        try:
            for network in self._client.networks.list(names=[name]):
                if network.name == name:
                    network.remove()
        except docker.errors.APIError as e:
            raise ToolFailed(
                f"removing the Docker network {name} failed: {e}",
                hint="stop the containers that use it and retry",
            ) from e

    def has_image(self, reference: str) -> bool:
        try:
            self._client.images.get(reference)
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError as e:
            raise ToolFailed(f"docker image inspect {reference} failed: {e}") from e
        return True

    def pull(self, reference: str) -> None:
        ref = ImageRef.parse(reference)
        try:
            with timed("docker pull"):
                self._client.images.pull(ref.name, tag=ref.tag_or_latest)
        except docker.errors.APIError as e:
            raise ToolFailed(f"docker pull {reference} failed: {e}", transient=True) from e

    def tag(self, source: str, target: str) -> None:
        """Name the local image ``source`` also ``target``."""
        ref = ImageRef.parse(target)
        try:
            self._client.api.tag(source, ref.name, tag=ref.tag_or_latest)
        except docker.errors.APIError as e:
            raise ToolFailed(f"docker tag {source} {target} failed: {e}") from e

    def platform(self) -> dict[str, str]:
        try:
            version = self._client.version()
        except docker.errors.APIError as e:
            raise ToolFailed(f"docker version failed: {e}", transient=True) from e
        return platform_args(str(version.get("Os", "linux")), str(version.get("Arch", "amd64")))

    def push(self, reference: str) -> str:
        """Push ``reference`` and return the digest the registry reported."""
        ref = ImageRef.parse(reference)
        digest = ""
        try:
            with timed("docker push"):
                records: Any = self._client.api.push(
                    ref.name, tag=ref.tag_or_latest, stream=True, decode=True
                )
                for entry in records:
                    if "error" in entry:
                        raise ToolFailed(
                            f"docker push {reference} failed: {entry['error']}", transient=True
                        )
                    aux = entry.get("aux") or {}
                    digest = aux.get("Digest", digest)
        except docker.errors.APIError as e:
            raise ToolFailed(f"docker push {reference} failed: {e}", transient=True) from e
        if not digest.startswith("sha256:"):
            raise ToolFailed(f"docker push {reference} reported no digest")
        return digest

    def close(self) -> None:
        self._client.close()
