"""The network image builds run in: one bridge per builder, fenced so that a ``RUN`` step
reaches the stack's Go module proxy on the bridge's gateway and nothing else.

The Docker builder's steps join the Docker network ``seamline-build`` (its bridge
``sl-build0``), BuildKit's get a CNI bridge ``sl-build1``; both reach the proxy by the name
``goproxy.seamline.internal``.
"""

from __future__ import annotations

from dataclasses import dataclass

PROXY_HOST = "goproxy.seamline.internal"
DOCKER_NETWORK = "seamline-build"


@dataclass(frozen=True)
class Bridge:
    name: str  # the Linux bridge
    subnet: str
    gateway: str  # the host's address on it, where the proxy listens
    prefix: int = 24

    @property
    def chain(self) -> str:
        """The iptables chain that fences traffic from this bridge."""
        return f"SL-{self.name}"


DOCKER_BRIDGE = Bridge(name="sl-build0", subnet="10.213.0.0/24", gateway="10.213.0.1")
BUILDKIT_BRIDGE = Bridge(name="sl-build1", subnet="10.213.1.0/24", gateway="10.213.1.1")
BRIDGES = (DOCKER_BRIDGE, BUILDKIT_BRIDGE)


def proxy_url(port: int) -> str:
    """GOPROXY as a build step sets it."""
    return f"http://{PROXY_HOST}:{port}"
