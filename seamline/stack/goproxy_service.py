"""The Go module proxy image builds reach (``python -m seamline.goproxy``), and the fenced
build network it serves (``seamline.stack.build_network``).

It listens on SEAMLINE_GOPROXY_PORT of each build bridge's gateway only, caches under
the state folder, and fetches from SEAMLINE_GOPROXY_UPSTREAM. A proxy already answering
there for the same upstream (another stack's, on this machine) is shared, not refused;
``down`` then leaves it, and the network, to the stack that started them.
"""

from __future__ import annotations

import sys

import httpx

from seamline.config.build_network import BRIDGES, DOCKER_BRIDGE, proxy_url
from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem
from seamline.goproxy.server import SERVICE, upstream_id
from seamline.stack.build_network import BuildNetwork
from seamline.stack.daemon import Daemon, port_open
from seamline.stack.model import ComponentStatus


class GoproxyService:
    name = "goproxy"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._network = BuildNetwork(settings)
        port = settings.goproxy_port
        listen = [arg for bridge in BRIDGES for arg in ("--listen", bridge.gateway)]
        self._daemon = Daemon(
            name=self.name,
            argv=[
                sys.executable,
                "-m",
                "seamline.goproxy",
                *listen,
                "--port",
                str(port),
                "--cache",
                str(settings.goproxy_cache_dir),
                "--upstream",
                settings.goproxy_upstream,
            ],
            state_dir=settings.state_dir,
            endpoint=f"{DOCKER_BRIDGE.gateway}:{port}",
            occupied=lambda: any(port_open(b.gateway, port) for b in BRIDGES),
            healthy=self._healthy,
            start_timeout_s=max(30.0, settings.service_timeout_s),
            fix_port_hint=f"free port {port} on the build bridges or set SEAMLINE_GOPROXY_PORT",
        )

    def _healthy(self) -> bool:
        """Every gateway answers as a module proxy in front of the settings' upstream."""
        wanted = {"service": SERVICE, "upstream": upstream_id(self._settings.goproxy_upstream)}
        for bridge in BRIDGES:
            url = f"http://{bridge.gateway}:{self._settings.goproxy_port}/healthz"
            try:
                answer = httpx.get(url, timeout=2)
                if answer.status_code != 200 or answer.json() != wanted:
                    return False
            except (httpx.HTTPError, ValueError):
                return False
        return True

    def status(self) -> ComponentStatus:
        if not self._settings.goproxy:
            return ComponentStatus(
                self.name, True, "off (SEAMLINE_GOPROXY=false): builds have no network"
            )
        try:
            problems = self._network.problems()
        except EnvironmentProblem as e:
            problems = [e.message]
        if problems:
            return ComponentStatus(
                self.name, False, "build network: " + "; ".join(problems), "run `seamline stack up`"
            )
        if not self._healthy():
            return ComponentStatus(
                self.name,
                False,
                f"no module proxy for {self._settings.goproxy_upstream} answers on port "
                f"{self._settings.goproxy_port} of the build bridges",
                "run `seamline stack up`",
            )
        owner = f"pid {self._daemon.pid()}" if self._daemon.running() else "shared"
        return ComponentStatus(
            self.name, True, f"{owner}, {proxy_url(self._settings.goproxy_port)}"
        )

    def up(self) -> None:
        if not self._settings.goproxy:
            return
        self._network.up()
        self._settings.goproxy_cache_dir.mkdir(parents=True, exist_ok=True)
        if self._daemon.running() and not self._healthy():
            self._daemon.stop()  # ours, but for another upstream or port
        self._daemon.start()

    def down(self) -> None:
        ours = self._daemon.running()
        self._daemon.stop()
        if ours:
            self._network.down()
