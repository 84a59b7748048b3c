"""The fenced network image builds run in (``seamline.config.build_network``): the Docker
network and BuildKit's CNI bridge, and an iptables chain per bridge that lets a build step
reach the module proxy's port on the gateway and rejects everything else, to the host and
beyond. Rejected, not dropped: a probe fails at once instead of waiting out its timeout.

Nothing is masqueraded, and the bridges neither forward nor have IPv6. A host that does
not forward drops a packet for an address off the bridge silently, where the fence's
REJECT never sees it; so a routing rule makes every address local for packets arriving on
a build bridge (the TPROXY recipe: ``local 0.0.0.0/0 dev lo`` in a table of its own), and
they all meet the fence in INPUT. BuildKit's steps have no route off their bridge besides.
Setup is idempotent (what is already in place is left alone) and ``down`` removes it all.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from seamline.adapters.docker_engine import DockerEngine
from seamline.config.build_network import (
    BRIDGES,
    BUILDKIT_BRIDGE,
    DOCKER_BRIDGE,
    DOCKER_NETWORK,
    Bridge,
)
from seamline.config.settings import Settings
from seamline.errors import ToolFailed, ToolMissing
from seamline.tools.process import run

log = logging.getLogger("seamline.stack")

IPTABLES_CANDIDATES = ("iptables", "/usr/sbin/iptables", "/sbin/iptables", "/usr/sbin/iptables-nft")
IP_CANDIDATES = ("ip", "/usr/sbin/ip", "/sbin/ip", "/bin/ip")
CNI_BIN_DIR = Path("/usr/lib/cni")
CNI_PLUGINS = ("bridge", "host-local", "loopback")
SETUP_HINT = (
    "run `make setup` as root (it installs iptables, iproute2, containernetworking-plugins)"
)
HOOKS = ("INPUT", "FORWARD")
ROUTE_TABLE = "213"  # the routing table that makes every address local
RULE_PRIORITY = "1213"  # before the main table's rule (32766)
ALL_LOCAL = "local default dev lo"  # that table's one route, as `ip route show` prints it


def _find(candidates: tuple[str, ...], what: str) -> str:
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise ToolMissing(f"{what} not found (looked for {', '.join(candidates)})", hint=SETUP_HINT)


def fence_rules(bridge: Bridge, port: int) -> list[str]:
    """The chain's rules, as ``iptables -S CHAIN`` prints them."""
    chain = bridge.chain
    return [
        f"-N {chain}",
        f"-A {chain} -d {bridge.gateway}/32 -p tcp -m tcp --dport {port} -j ACCEPT",
        f"-A {chain} -p tcp -j REJECT --reject-with tcp-reset",
        f"-A {chain} -j REJECT --reject-with icmp-port-unreachable",
    ]


def cni_config(bridge: Bridge, *, ipam_dir: Path) -> str:
    """BuildKit's CNI network: the bridge seamline made (so the plugin neither sets its
    address nor turns on forwarding: not a gateway), no masquerading, no routes beyond
    the bridge's own subnet."""
    config = {
        "cniVersion": "1.0.0",
        "name": "seamline-build",
        "type": "bridge",
        "bridge": bridge.name,
        "isGateway": False,
        "ipMasq": False,
        "hairpinMode": False,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": bridge.subnet, "gateway": bridge.gateway}]],
            "dataDir": str(ipam_dir),
        },
    }
    return json.dumps(config, indent=2) + "\n"


class BuildNetwork:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._port = settings.goproxy_port

    @property
    def cni_config_path(self) -> Path:
        return self._settings.local_buildkit_dir / "cni" / "seamline-build.json"

    def _iptables(self, *args: str, check: bool = True) -> tuple[int, str]:
        iptables = _find(IPTABLES_CANDIDATES, "iptables")
        result = run([iptables, "-w", *args], check=check, timeout=30)
        return result.returncode, result.stdout

    def _ip(self, *args: str, check: bool = True) -> tuple[int, str]:
        result = run([_find(IP_CANDIDATES, "ip (iproute2)"), *args], check=check, timeout=30)
        return result.returncode, result.stdout

    def _hooked(self, hook: str, bridge: Bridge) -> bool:
        return (
            self._iptables("-C", hook, "-i", bridge.name, "-j", bridge.chain, check=False)[0] == 0
        )

    def _rule(self, bridge: Bridge) -> list[str]:
        return ["pref", RULE_PRIORITY, "iif", bridge.name, "lookup", ROUTE_TABLE]

    def _rules(self) -> str:
        return self._ip("-4", "rule", "show", check=False)[1]

    def _table(self) -> str:
        return self._ip("-4", "route", "show", "table", ROUTE_TABLE, check=False)[1]

    def check_tools(self) -> None:
        if os.geteuid() != 0:
            raise ToolMissing(
                "the build network needs root (bridges, routing rules and iptables)",
                hint="run `seamline stack up` as root, or set SEAMLINE_GOPROXY=false "
                "(image builds then have no network)",
            )
        _find(IPTABLES_CANDIDATES, "iptables")
        _find(IP_CANDIDATES, "ip (iproute2)")
        if self._settings.image_builder == "buildkit":
            check_cni_plugins()

    def up(self) -> None:
        self.check_tools()
        engine = DockerEngine.connect(self._settings.docker_host)
        try:
            engine.ensure_network(
                DOCKER_NETWORK,
                bridge=DOCKER_BRIDGE.name,
                subnet=DOCKER_BRIDGE.subnet,
                gateway=DOCKER_BRIDGE.gateway,
            )
        finally:
            engine.close()
        self._ensure_bridge(BUILDKIT_BRIDGE)
        self.cni_config_path.parent.mkdir(parents=True, exist_ok=True)
        self.cni_config_path.write_text(
            cni_config(BUILDKIT_BRIDGE, ipam_dir=self._settings.local_buildkit_dir / "cni-ipam")
        )
        for bridge in BRIDGES:
            _isolate(bridge)
            self._fence(bridge)
        self._all_local()

    def _ensure_bridge(self, bridge: Bridge) -> None:
        if not _exists(bridge):
            self._ip("link", "add", bridge.name, "type", "bridge")
        address = f"{bridge.gateway}/{bridge.prefix}"
        if address not in self._ip("-4", "-o", "addr", "show", "dev", bridge.name)[1]:
            self._ip("addr", "add", address, "dev", bridge.name)
        self._ip("link", "set", bridge.name, "up")

    def _fence(self, bridge: Bridge) -> None:
        chain = bridge.chain
        wanted = fence_rules(bridge, self._port)
        code, current = self._iptables("-S", chain, check=False)
        if code != 0:
            self._iptables("-N", chain)
            current = ""
        if current.strip().splitlines() != wanted:
            self._iptables("-F", chain)
            for rule in wanted[1:]:
                self._iptables(*rule.split())
        for hook in HOOKS:
            if not self._hooked(hook, bridge):
                self._iptables("-I", hook, "1", "-i", bridge.name, "-j", chain)

    def _all_local(self) -> None:
        """Every address is the host's for packets arriving on a build bridge."""
        if ALL_LOCAL not in self._table():
            self._ip(
                "-4", "route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", ROUTE_TABLE
            )
        rules = self._rules()
        for bridge in BRIDGES:
            if f"iif {bridge.name} lookup {ROUTE_TABLE}" not in rules:
                self._ip("-4", "rule", "add", *self._rule(bridge))

    def problems(self) -> list[str]:
        """What is missing of the network (empty: all in place); reads only."""
        found = []
        rules = self._rules()
        for bridge in BRIDGES:
            if not _exists(bridge):
                found.append(f"no bridge {bridge.name}")
                continue
            code, current = self._iptables("-S", bridge.chain, check=False)
            if code != 0 or current.strip().splitlines() != fence_rules(bridge, self._port):
                found.append(f"{bridge.name} is not fenced")
            found += [
                f"{bridge.name}: {hook} does not go through {bridge.chain}"
                for hook in HOOKS
                if not self._hooked(hook, bridge)
            ]
            if f"iif {bridge.name} lookup {ROUTE_TABLE}" not in rules:
                found.append(f"{bridge.name}: no routing rule to table {ROUTE_TABLE}")
            if _ipv6_off(bridge).exists() and _ipv6_off(bridge).read_text().strip() != "1":
                found.append(f"{bridge.name} has IPv6")
        if ALL_LOCAL not in self._table():
            found.append(f"routing table {ROUTE_TABLE} lacks its route")
        return found

    def down(self) -> None:
        rules = self._rules()
        for bridge in BRIDGES:
            for _ in range(rules.count(f"iif {bridge.name} lookup {ROUTE_TABLE}")):
                self._ip("-4", "rule", "del", *self._rule(bridge), check=False)
            for hook in HOOKS:
                while self._hooked(hook, bridge):
                    self._iptables("-D", hook, "-i", bridge.name, "-j", bridge.chain)
            if self._iptables("-S", bridge.chain, check=False)[0] == 0:
                self._iptables("-F", bridge.chain)
                self._iptables("-X", bridge.chain)
        self._ip("-4", "route", "flush", "table", ROUTE_TABLE, check=False)
        if _exists(BUILDKIT_BRIDGE):
            self._ip("link", "del", BUILDKIT_BRIDGE.name, check=False)
        if not DockerEngine.reachable(self._settings.docker_host):
            return  # no engine, no network to remove (its data folder keeps it for later)
        engine = DockerEngine.connect(self._settings.docker_host)
        try:
            engine.remove_network(DOCKER_NETWORK)
        except ToolFailed as e:  # a build still on it: the next `stack up` keeps it as is
            log.warning("%s", e.diagnostics())
        finally:
            engine.close()


def _exists(bridge: Bridge) -> bool:
    return Path(f"/sys/class/net/{bridge.name}").exists()


def check_cni_plugins() -> None:
    """The CNI plugins buildkitd runs `RUN` steps' network with are installed."""
    missing = [p for p in CNI_PLUGINS if not (CNI_BIN_DIR / p).is_file()]
    if missing:
        raise ToolMissing(
            f"CNI plugins missing from {CNI_BIN_DIR}: {', '.join(missing)}", hint=SETUP_HINT
        )


def _ipv6_off(bridge: Bridge) -> Path:
    return Path(f"/proc/sys/net/ipv6/conf/{bridge.name}/disable_ipv6")


def _isolate(bridge: Bridge) -> None:
    """Packets arriving on the bridge are never routed on (the fence rejects them too), and
    the host has no IPv6 address there: the fence is IPv4's, and a link-local address
    would let a step reach whatever listens on the host's ``::``."""
    Path(f"/proc/sys/net/ipv4/conf/{bridge.name}/forwarding").write_text("0\n")
    if _ipv6_off(bridge).exists():
        _ipv6_off(bridge).write_text("1\n")
