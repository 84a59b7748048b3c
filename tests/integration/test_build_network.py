"""The build network on the real stack, with both builders: a `RUN go mod download` comes
through the stack's module proxy (and lands in its cache), and nothing else answers a
build step: not the upstream proxy or the checksum database directly, not the registry
(on the step's loopback or on the gateway), not the Prefect server, not a listener this
test opens on every address of the host. The fence rejects, so each probe fails at once;
a probe gives up after 3 s."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seamline.adapters.toolbox import Toolbox
from seamline.config.build_network import BUILDKIT_BRIDGE, DOCKER_BRIDGE, PROXY_HOST, Bridge
from seamline.config.settings import Settings
from seamline.stack.build_network import ROUTE_TABLE, BuildNetwork
from tests.integration.test_buildkit_builder import buildkit  # noqa: F401 (fixture)

PROBE = """\
package main

import (
\t"fmt"
\t"net"
\t"os"
\t"strings"
\t"time"
)

// Each argument is want:name=host:port, want "open" or "shut".
func main() {
\tfailed := false
\tfor _, arg := range os.Args[1:] {
\t\twant, rest, _ := strings.Cut(arg, ":")
\t\tname, addr, _ := strings.Cut(rest, "=")
\t\tconn, err := net.DialTimeout("tcp", addr, 3*time.Second)
\t\tif err == nil {
\t\t\tconn.Close()
\t\t}
\t\tfmt.Printf("probe %s %s open=%v (%v)\\n", name, addr, err == nil, err)
\t\tif (err == nil) != (want == "open") {
\t\t\tfmt.Printf("PROBE-FAILED %s\\n", name)
\t\t\tfailed = true
\t\t}
\t}
\tif failed {
\t\tos.Exit(1)
\t}
}
"""

DOCKERFILE = """\
ARG GO_BUILDER_IMAGE
FROM ${GO_BUILDER_IMAGE}
ARG NONCE
COPY probe.go /probe/probe.go
RUN echo "$NONCE" && cd /tmp \\
  && GOFLAGS=-modcacherw go mod download -json github.com/google/uuid@v1.6.0
RUN echo "$NONCE" && go run /probe/probe.go {targets}
"""


Build = Callable[[Path, dict[str, str]], None]


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on every address of the host: a build step must not reach it."""
    with socket.create_server(("0.0.0.0", 0)) as server:  # noqa: S104 (the point of it)
        yield int(server.getsockname()[1])


def _targets(settings: Settings, bridge: Bridge, listener: int) -> list[str]:
    upstream_ip = socket.gethostbyname("proxy.golang.org")
    gateway = bridge.gateway
    return [
        f"open:proxy={PROXY_HOST}:{settings.goproxy_port}",
        "shut:upstream=proxy.golang.org:443",
        f"shut:upstream-ip={upstream_ip}:443",
        "shut:sumdb=sum.golang.org:443",
        f"shut:registry-loopback=127.0.0.1:{settings.registry_port}",
        f"shut:registry-gateway={gateway}:{settings.registry_port}",
        f"shut:prefect-gateway={gateway}:{settings.prefect_port}",
        f"shut:prefect-loopback=127.0.0.1:{settings.prefect_port}",
        f"shut:listener={gateway}:{listener}",
    ]


def _context(folder: Path, targets: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "probe.go").write_text(PROBE)
    (folder / "Dockerfile").write_text(DOCKERFILE.replace("{targets}", " ".join(targets)))
    return folder


def _proxy_fetches(settings: Settings, offset: int, subnet_prefix: str) -> list[str]:
    """The module requests the proxy logged since ``offset`` from a build bridge."""
    log = (settings.state_dir / "logs" / "goproxy.log").read_text(errors="replace")[offset:]
    return [
        line
        for line in log.splitlines()
        if subnet_prefix in line
        and re.search(r"GET /github\.com/google/uuid/@v/v1\.6\.0\.zip", line)
    ]


def _log_size(settings: Settings) -> int:
    path = settings.state_dir / "logs" / "goproxy.log"
    return len(path.read_text(errors="replace")) if path.exists() else 0


def _build_through_the_fence(
    settings: Settings, bridge: Bridge, listener: int, folder: Path, build: Build
) -> None:
    """Build the probe on ``bridge`` with ``build`` (context, build args): it fails unless
    the step reached the proxy and nothing else; then the proxy must have served the
    module to an address on that bridge, and keep it."""
    toolbox = Toolbox(settings)
    context = _context(folder / "ctx", _targets(settings, bridge, listener))
    offset = _log_size(settings)
    started = time.monotonic()
    build(context, {**toolbox.base_images(), "NONCE": uuid.uuid4().hex})
    assert time.monotonic() - started < 120
    subnet = bridge.gateway.rsplit(".", 1)[0] + "."
    assert _proxy_fetches(settings, offset, subnet), "the build did not use the proxy"
    cached = settings.goproxy_cache_dir / "github.com/google/uuid/@v/v1.6.0.zip"
    assert cached.is_file() and cached.stat().st_size > 0


def test_docker_builds_reach_the_module_proxy_and_nothing_else(
    stack_up: object, settings: Settings, listener: int, tmp_path: Path
) -> None:
    engine = Toolbox(settings).docker()
    tag = f"seamline-test/build-network:{uuid.uuid4().hex[:10]}"

    def build(context: Path, build_args: dict[str, str]) -> None:
        engine.build(context=context, dockerfile="Dockerfile", tag=tag, build_args=build_args)
        engine.client.images.remove(tag, force=True)

    try:
        _build_through_the_fence(settings, DOCKER_BRIDGE, listener, tmp_path, build)
    finally:
        engine.close()


def test_buildkit_builds_reach_the_module_proxy_and_nothing_else(
    buildkit: Settings,  # noqa: F811 (the imported fixture)
    listener: int,
    tmp_path: Path,
) -> None:
    builder = Toolbox(buildkit).buildkit()

    def build(context: Path, build_args: dict[str, str]) -> None:
        builder.build_layout(
            context=context,
            dockerfile="Dockerfile",
            layout=tmp_path / "layout",
            build_args=build_args,
            labels={},
            source_date_epoch=0,
        )

    try:
        _build_through_the_fence(buildkit, BUILDKIT_BRIDGE, listener, tmp_path, build)
    finally:
        builder.close()


def test_the_fence_is_set_up_once_however_often_the_stack_comes_up(
    stack_up: object, settings: Settings
) -> None:
    network = BuildNetwork(settings)
    network.up()
    network.up()
    assert network.problems() == []
    rules = subprocess.run(
        ["iptables", "-w", "-S"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for bridge in (DOCKER_BRIDGE, BUILDKIT_BRIDGE):
        for hook in ("INPUT", "FORWARD"):
            assert rules.count(f"-A {hook} -i {bridge.name} -j {bridge.chain}") == 1
        assert sum(rule.startswith(f"-A {bridge.chain} ") for rule in rules) == 3
    routing = subprocess.run(
        ["ip", "-4", "rule", "show"], capture_output=True, text=True, check=True
    ).stdout
    for bridge in (DOCKER_BRIDGE, BUILDKIT_BRIDGE):
        assert routing.count(f"iif {bridge.name} lookup {ROUTE_TABLE}") == 1
