"""BuildKit's daemon (``buildkitd``, root, OCI worker with Debian's runc): the default
image builder's; with ``SEAMLINE_IMAGE_BUILDER=docker`` it is not started.

Its state, config and log live in the state folder; its socket sits in a 0700 folder, so
only root can ask it to build. ``buildkitd.toml`` lets it pull from and push to the
settings' registry over plain HTTP. ``SEAMLINE_BUILDKIT_HOST`` names a buildkitd of one's
own instead: the stack then only checks that it answers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from seamline.adapters.buildkit import buildctl_env
from seamline.config.settings import Settings
from seamline.errors import EnvironmentProblem, ServiceUnavailable, ToolMissing
from seamline.stack.build_network import CNI_BIN_DIR, BuildNetwork, check_cni_plugins
from seamline.stack.daemon import Daemon
from seamline.stack.model import ComponentStatus
from seamline.tools.pins import INSTALL_HINT, locate
from seamline.tools.process import run

SOCKET_PREFIX = "unix://"


def buildkitd_config(*, registry: str, root: Path, cni_config: Path | None = None) -> str:
    """The daemon's config: its state folder, the OCI worker only, the registry over
    HTTP (a registry on loopback or a private network has no TLS). ``cni_config``: the
    worker's CNI network, given here because buildkitd v0.34's ``--oci-cni-config-path``
    flag is read under another name and never takes effect."""
    cni = (
        f'  networkMode = "cni"\n  cniConfigPath = "{cni_config}"\n'
        f'  cniBinaryPath = "{CNI_BIN_DIR}"\n'
        if cni_config is not None
        else ""
    )
    return (
        f'root = "{root}"\n\n'
        f"[worker.oci]\n  enabled = true\n{cni}\n"
        "[worker.containerd]\n  enabled = false\n\n"
        f'[registry."{registry}"]\n  http = true\n'
    )


class BuildkitService:
    name = "buildkitd"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._dir = settings.local_buildkit_dir
        self._address = settings.buildkit_address()
        self._network = BuildNetwork(settings)
        self._daemon = Daemon(
            name=self.name,
            argv=[
                str(self._binary("buildkitd")),
                "--config",
                str(self._dir / "buildkitd.toml"),
                "--root",
                str(self._dir / "root"),
                "--addr",
                self._address,
                "--group",
                "0",
                *self._network_flags(),
            ],
            state_dir=settings.state_dir,
            endpoint=self._address,
            occupied=lambda: self._socket().exists() and self._healthy(),
            healthy=self._healthy,
            start_timeout_s=max(60.0, settings.service_timeout_s),
        )

    def _network_flags(self) -> list[str]:
        """`RUN` steps on the fenced CNI bridge (``seamline.stack.build_network``) when
        builds may reach the module proxy; otherwise every build asks for no network."""
        if not self._settings.goproxy:
            return []
        return ["--oci-worker-net", "cni"]  # its paths are in the config file

    @property
    def _args_file(self) -> Path:
        """The command line the running daemon was started with."""
        return self._dir / "buildkitd.args"

    @property
    def _used(self) -> bool:
        return self._settings.image_builder == "buildkit"

    @property
    def _external(self) -> bool:
        return bool(self._settings.buildkit_host)

    def _binary(self, name: str) -> Path:
        try:
            return locate(name, self._settings.tools_dir)
        except ToolMissing:
            return self._settings.tools_dir / name

    def _socket(self) -> Path:
        return Path(self._address.removeprefix(SOCKET_PREFIX))

    def _healthy(self) -> bool:
        """buildkitd answers and has a worker to build with."""
        try:
            answer = run(
                [str(self._binary("buildctl")), "debug", "workers"],
                env=buildctl_env(self._address),
                check=False,
                timeout=10,
            )
        except EnvironmentProblem:
            return False
        return answer.returncode == 0 and len(answer.stdout.strip().splitlines()) > 1

    def status(self) -> ComponentStatus:
        if not self._used:
            return ComponentStatus(self.name, True, "not used (SEAMLINE_IMAGE_BUILDER=docker)")
        if self._healthy():
            owner = f"pid {self._daemon.pid()}" if self._daemon.running() else "external"
            return ComponentStatus(self.name, True, f"{owner}, {self._address}")
        hint = "run `seamline stack up`"
        if self._external:
            hint = "start the buildkitd SEAMLINE_BUILDKIT_HOST names, or unset it"
        return ComponentStatus(self.name, False, f"no buildkitd answers at {self._address}", hint)

    def up(self) -> None:
        if not self._used:
            return
        if self._external:
            if not self._healthy():
                raise ServiceUnavailable(
                    f"no buildkitd answers at {self._address} (SEAMLINE_BUILDKIT_HOST)",
                    hint="start it, or unset SEAMLINE_BUILDKIT_HOST to let the stack run one",
                )
            return
        for tool in ("buildkitd", "buildctl"):
            locate(tool, self._settings.tools_dir)  # ToolMissing says how to install them
        if shutil.which("runc") is None or os.geteuid() != 0:
            raise ToolMissing(
                "buildkitd needs root and runc on PATH",
                hint="run as root; `make setup` installs runc with Debian's docker.io. "
                f"Or set SEAMLINE_IMAGE_BUILDER=docker. ({INSTALL_HINT})",
            )
        if self._settings.goproxy:
            check_cni_plugins()
            if not self._network.cni_config_path.is_file():
                raise ServiceUnavailable(
                    f"no build network config at {self._network.cni_config_path}",
                    hint="run `seamline stack up` (the goproxy component sets it up)",
                )
        socket_dir = self._socket().parent
        socket_dir.mkdir(parents=True, exist_ok=True)
        socket_dir.chmod(0o700)
        (self._dir / "root").mkdir(parents=True, exist_ok=True)
        (self._dir / "buildkitd.toml").write_text(
            buildkitd_config(
                registry=self._settings.registry,
                root=self._dir / "root",
                cni_config=self._network.cni_config_path if self._settings.goproxy else None,
            )
        )
        args = "\n".join(self._daemon.argv) + "\n"
        if self._daemon.running() and self._args_file.exists():
            if self._args_file.read_text() != args:  # started with another network
                self._daemon.stop(timeout_s=30.0)
        elif self._daemon.running():
            self._daemon.stop(timeout_s=30.0)  # started before its flags were recorded
        if not self._daemon.running() and not self._healthy():
            self._socket().unlink(missing_ok=True)  # left behind by a daemon that died
        self._daemon.start()
        self._args_file.write_text(args)

    def down(self) -> None:
        self._daemon.stop(timeout_s=30.0)
