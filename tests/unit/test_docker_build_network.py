"""The Docker Engine adapter's part of the build network: `RUN` steps on the network and
with the names it is given, and the internal bridge network kept, made, or made anew."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seamline.adapters.docker_engine import DockerEngine
from seamline.config.build_network import DOCKER_BRIDGE, DOCKER_NETWORK

pytestmark = pytest.mark.unit


class FakeNetwork:
    def __init__(self, owner: FakeNetworks, name: str, attrs: dict[str, Any]) -> None:
        self.owner, self.name, self.attrs = owner, name, attrs

    def remove(self) -> None:
        self.owner.removed.append(self.name)
        self.owner.found.remove(self)


class FakeNetworks:
    def __init__(self) -> None:
        self.found: list[FakeNetwork] = []
        self.created: list[dict[str, Any]] = []
        self.removed: list[str] = []

    def list(self, names: list[str]) -> list[FakeNetwork]:
        return [n for n in self.found if names[0] in n.name]  # Docker matches substrings

    def create(self, name: str, **kwargs: Any) -> None:
        self.created.append({"name": name, **kwargs})
        ipam = kwargs["ipam"]["Config"][0]
        attrs = {
            "IPAM": {"Config": [{"Subnet": ipam["Subnet"], "Gateway": ipam["Gateway"]}]},
            "Options": kwargs["options"],
            "Internal": kwargs["internal"],
        }
        self.found.append(FakeNetwork(self, name, attrs))


class FakeImages:
    def __init__(self) -> None:
        self.builds: list[dict[str, Any]] = []

    def build(self, **kwargs: Any) -> tuple[Any, list[Any]]:
        self.builds.append(kwargs)
        return type("Image", (), {"id": "sha256:" + "0" * 64})(), []


class FakeClient:
    def __init__(self) -> None:
        self.networks = FakeNetworks()
        self.images = FakeImages()


def _ensure(engine: DockerEngine) -> None:
    engine.ensure_network(
        DOCKER_NETWORK,
        bridge=DOCKER_BRIDGE.name,
        subnet=DOCKER_BRIDGE.subnet,
        gateway=DOCKER_BRIDGE.gateway,
    )


def test_the_network_is_made_once_internal_unmasqueraded_on_its_bridge() -> None:
    client = FakeClient()
    engine = DockerEngine(client=client)  # type: ignore[arg-type]
    _ensure(engine)
    _ensure(engine)
    [created] = client.networks.created
    assert created["internal"] is True
    assert created["options"] == {
        "com.docker.network.bridge.name": "sl-build0",
        "com.docker.network.bridge.enable_ip_masquerade": "false",
    }
    assert client.networks.removed == []


def test_a_network_set_up_otherwise_is_made_anew() -> None:
    client = FakeClient()
    stale = {
        "IPAM": {"Config": [{"Subnet": "10.99.0.0/24", "Gateway": "10.99.0.1"}]},
        "Options": {},
        "Internal": False,
    }
    client.networks.found.append(FakeNetwork(client.networks, DOCKER_NETWORK, stale))
    client.networks.found.append(FakeNetwork(client.networks, "seamline-build-other", stale))
    _ensure(DockerEngine(client=client))  # type: ignore[arg-type]
    assert client.networks.removed == [DOCKER_NETWORK]
    assert [c["name"] for c in client.networks.created] == [DOCKER_NETWORK]


def test_builds_run_on_the_build_network_with_the_proxy_s_name(tmp_path: Path) -> None:
    client = FakeClient()
    engine = DockerEngine(
        client=client,  # type: ignore[arg-type]
        build_network=DOCKER_NETWORK,
        extra_hosts={"goproxy.seamline.internal": "10.213.0.1"},
    )
    engine.build(context=tmp_path, dockerfile="Dockerfile", tag="t:1", build_args={})
    [build] = client.images.builds
    assert build["network_mode"] == "seamline-build"
    assert build["extra_hosts"] == {"goproxy.seamline.internal": "10.213.0.1"}


def test_without_a_build_network_run_steps_have_none(tmp_path: Path) -> None:
    client = FakeClient()
    DockerEngine(client=client).build(  # type: ignore[arg-type]
        context=tmp_path, dockerfile="Dockerfile", tag="t:1", build_args={}
    )
    assert client.images.builds[0]["network_mode"] == "none"
    assert client.images.builds[0]["extra_hosts"] is None
