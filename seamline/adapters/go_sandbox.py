"""The sandbox where a repository's own code runs: `go build`, `go vet`, golangci-lint and
`go test`, in a container of the Go builder image (side by side when no other sandbox of
this process is running, else one after another).

Code under test is not trusted (a pull request runs it). In the sandbox it runs as a
non-root user, with no network (no registry, no Prefect API, no module proxy), no Docker
socket, no secrets in its environment, a read-only root filesystem and the repository
mounted read-only, as is, with new lint findings only, the diff the host made of the
service's folder since the baseline commit. It can write only to a tmpfs, to its Go and
lint build caches, and to the folder that receives the checks' output. Modules are
downloaded beforehand, on the host, by `go mod download` (which fetches code but runs
none), and mounted read-only. Build caches are kept per trust class, so a pull request
cannot plant build results that a trusted run would reuse. Each sandbox is labelled with
its owner process; once that process is gone, ``remove_orphan_sandboxes`` stops it.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
import requests.exceptions
from docker import DockerClient
from docker.types import Mount

from seamline.adapters.go_toolchain import GO_ENV, lint_argv
from seamline.errors import ServiceUnavailable, ToolFailed
from seamline.tools.limits import heavy
from seamline.tools.owner import owner_alive, owner_token
from seamline.tools.process import CompletedRun, timed

SANDBOX_UID = 65532
MAX_OUTPUT = 16 << 20  # bytes of one check's output the host reads back
CHECKS = ("build", "vet", "lint", "test")
LINT_NEW = "lint-new"  # golangci-lint again, only the findings on lines a patch adds
# Runs inside the container (busybox or any POSIX sh): the four checks, each one's stdout,
# stderr and exit code into /out. Argument: the module folder. The lint line comes from
# ``lint_argv``, quoted. ``{bg}`` is "&" (side by side) or "" (one after another).
_SCRIPT = r"""
set -u
cd "$1"
# The checks yield the cores to the image line beside them (push, scan, SBOM, signing).
renice -n 10 -p $$ >/dev/null 2>&1 || true
check() {{
  name=$1; shift
  "$@" >"/out/$name.out" 2>"/out/$name.err"
  echo $? >"/out/$name.rc"
}}
check build go build -o /tmp/bin/ ./... {bg}
check vet go vet ./... {bg}
{{ {lint}; }} {bg}
check test go test -json -count=1 ./... {bg}
wait
"""
PATCH = "/in/lint-baseline.patch"


def checks_script(
    *, lint_config: str | None, new_from_patch: bool, side_by_side: bool = True
) -> str:
    """The sandbox's script: golangci-lint runs twice when a patch is given, on everything
    (reported) and then on what the patch adds (the gate), the second from the first's
    cache. Side by side, one module's checks use every core; one after another, the build
    compiles the packages once and vet and test reuse them from the Go build cache, which
    costs less CPU when other modules' checks keep the cores busy anyway."""
    lint = ["check lint " + shlex.join(lint_argv(config=lint_config, json_path="/out/lint.json"))]
    if new_from_patch:
        argv = lint_argv(
            config=lint_config, json_path=f"/out/{LINT_NEW}.json", new_from_patch=PATCH
        )
        lint.append(f"check {LINT_NEW} " + shlex.join(argv))
    return _SCRIPT.format(bg="&" if side_by_side else "", lint="; ".join(lint))


# The process a sandbox belongs to: when it is gone (a run killed or cancelled), nothing
# would stop or remove its sandboxes, and the code under test would go on running.
OWNER_LABEL = "dev.seamline.sandbox.owner"
SRC = "/src"
TMP = "/tmp"  # noqa: S108 - inside the container: a tmpfs of its own
_SEED = 'cp -a "$GOCACHE"/. /seed/ 2>/dev/null; chown -R "$1" /seed'


@dataclass(frozen=True)
class SandboxCaches:
    """Host folders the sandbox may write to (per trust class) or read (modules)."""

    go_build: Path
    lint: Path
    modules: Path


class GoSandbox:
    def __init__(
        self,
        *,
        client: DockerClient,
        image: str,
        golangci_lint: Path,
        caches: SandboxCaches,
        threads: int,
        memory: str = "4g",
    ) -> None:
        self._memory = memory
        self._client = client
        self._image = image
        self._lint = golangci_lint.resolve()
        self._caches = caches
        self._threads = threads
        # As root, checks run as the unprivileged nonroot user; otherwise as ourselves.
        self.uid = SANDBOX_UID if os.geteuid() == 0 else os.geteuid()

    def close(self) -> None:
        self._client.close()

    def _own(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and folder.stat().st_uid != self.uid:
            os.chown(folder, self.uid, self.uid)

    def prepare(self) -> None:
        """Create the caches; seed an empty Go build cache from the image's own (the
        standard library, compiled), so the first checks do not compile it again."""
        for folder in (self._caches.go_build, self._caches.lint):
            self._own(folder)
        # Beside the mounted folder, not in it: the sandbox could plant a symlink there.
        marker = self._caches.go_build.with_name(self._caches.go_build.name + ".seeded")
        if marker.exists():
            return
        # Services prepare side by side: one seeds, the others wait for it to finish.
        lock = os.open(self._caches.go_build.parent / ".seed.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not marker.exists():
                self._seed(marker)
        finally:
            os.close(lock)

    def _seed(self, marker: Path) -> None:
        try:
            self._client.containers.run(
                self._image,
                ["sh", "-c", _SEED, "seed", f"{self.uid}:{self.uid}"],
                user="0:0",
                network_mode="none",
                mounts=[_bind(self._caches.go_build, "/seed", writable=True)],
                remove=True,
            )
        except docker.errors.DockerException as e:
            raise ToolFailed(f"seeding the sandbox build cache failed: {e}") from e
        marker.touch()

    def run_checks(
        self,
        *,
        repository: Path,
        module: str,
        lint_config: str | None,
        out_dir: Path,
        lint_patch: Path | None = None,
        timeout: float = 900,
    ) -> dict[str, CompletedRun]:
        """Run the four checks of ``module`` (a folder relative to ``repository``); each
        check's output is kept in ``out_dir`` as NAME.out / NAME.err, golangci-lint's JSON
        report as lint.json. With ``lint_patch`` (a unified diff, paths relative to the
        module), golangci-lint also runs as ``lint-new`` on the lines it adds. The checks
        see the module's folder, the lint config and the patch, nothing else."""
        if out_dir.exists():
            shutil.rmtree(out_dir)
        self._own(out_dir)
        # Only what the cache key covers is in the sandbox: the service's folder and the
        # lint config, each read-only at its place in the repository, and the patch.
        mounts = [_bind(repository.resolve() / module, f"{SRC}/{module}")]
        if lint_config:
            mounts.append(_bind(repository.resolve() / lint_config, f"{SRC}/{lint_config}"))
        if lint_patch is not None:
            mounts.append(_bind(lint_patch.resolve(), PATCH))
        started = time.monotonic()
        with heavy("go checks"), _Running() as alone, timed("go checks (sandbox)"):
            script = checks_script(
                lint_config=f"{SRC}/{lint_config}" if lint_config else None,
                new_from_patch=lint_patch is not None,
                side_by_side=alone,
            )
            container = self._start(mounts, out_dir, [script, f"{SRC}/{module}".rstrip("/")])
            try:
                status = self._wait(container, timeout)
            finally:
                container.remove(force=True)
        seconds = time.monotonic() - started
        if status != 0:
            raise ToolFailed(
                f"the sandbox for {module} ended with status {status}",
                hint="see the Docker Engine's log; the checks' output is in " + str(out_dir),
            )
        names = (*CHECKS, LINT_NEW) if lint_patch is not None else CHECKS
        return {name: _read_check(out_dir, name, seconds) for name in names}

    def lint_report(self, out_dir: Path, name: str = "lint") -> str:
        """The JSON report golangci-lint wrote in ``out_dir`` (``lint`` or ``lint-new``)."""
        return read_untrusted(out_dir / f"{name}.json")

    def _start(self, mounts: list[Mount], out_dir: Path, args: list[str]) -> Any:
        script, *rest = args
        try:
            return self._client.containers.run(
                self._image,
                ["sh", "-c", script, "checks", *rest],
                detach=True,
                labels={OWNER_LABEL: owner_token()},
                user=f"{self.uid}:{self.uid}",
                network_mode="none",
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=4096,
                mem_limit=self._memory,  # the tmpfs is charged to it too
                tmpfs={TMP: "rw,exec,nosuid,size=4g"},
                working_dir=TMP,
                environment={
                    "HOME": TMP,
                    "XDG_CACHE_HOME": f"{TMP}/.cache",
                    "TMPDIR": TMP,
                    "GOCACHE": "/cache/go-build",
                    "GOLANGCI_LINT_CACHE": "/cache/lint",
                    "GOMODCACHE": "/modules",
                    "GOPROXY": "off",
                    "GOSUMDB": "off",
                    **GO_ENV,
                    "GOFLAGS": "-trimpath -buildvcs=false",
                    "GOMAXPROCS": str(self._threads),
                    "PATH": "/usr/local/go/bin:/go/bin:/usr/local/bin:/usr/bin:/bin",
                },
                mounts=[
                    *mounts,
                    _bind(self._caches.modules, "/modules"),
                    _bind(self._caches.go_build, "/cache/go-build", writable=True),
                    _bind(self._caches.lint, "/cache/lint", writable=True),
                    _bind(out_dir, "/out", writable=True),
                    _bind(self._lint, "/usr/local/bin/golangci-lint"),
                ],
            )
        except docker.errors.ImageNotFound as e:
            raise ServiceUnavailable(
                f"the sandbox image {self._image} is not available: {e}",
                hint="run `seamline stack up` to mirror the Go builder image",
            ) from e
        except docker.errors.DockerException as e:
            raise ToolFailed(f"starting the sandbox failed: {e}", transient=True) from e

    @staticmethod
    def _wait(container: Any, timeout: float) -> int:
        try:
            result = container.wait(timeout=timeout)
        except requests.exceptions.ConnectionError as e:
            container.kill()
            raise ToolFailed(
                f"the checks did not finish within {timeout:.0f} s",
                hint="look for a test that hangs; the output so far is kept",
            ) from e
        return int(result.get("StatusCode", -1))


class _Running:
    """Counts this process's sandboxes: entering gives True when no other is running (its
    checks may then take every core side by side)."""

    _count = 0
    _guard = threading.Lock()

    def __enter__(self) -> bool:
        with _Running._guard:
            alone = _Running._count == 0
            _Running._count += 1
        return alone

    def __exit__(self, *_: object) -> None:
        with _Running._guard:
            _Running._count -= 1


def remove_orphan_sandboxes(client: DockerClient) -> list[str]:
    """Stop and remove every sandbox whose owner process is gone; their ids."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        if owner_alive(container.labels.get(OWNER_LABEL, "")):
            continue
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            continue  # removed meanwhile
        removed.append(str(container.short_id))
    return removed


def _bind(source: Path, target: str, *, writable: bool = False) -> Mount:
    """A bind mount as a structured record: Docker's "source:target:mode" strings would
    let a folder name with a colon in it (the repository's own) change the mount."""
    return Mount(target=target, source=str(source), type="bind", read_only=not writable)


def read_untrusted(path: Path, limit: int = MAX_OUTPUT) -> str:
    """A file the sandbox could write, read without trusting it: never through a symlink
    (the code under test could point it at any host file), only a regular file (a FIFO
    would hang the read), and at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    text = data[:limit].decode(errors="replace")
    return text + "\n[output cut]\n" if len(data) > limit else text


def _read_check(out_dir: Path, name: str, seconds: float) -> CompletedRun:
    code = read_untrusted(out_dir / f"{name}.rc", limit=16).strip()
    return CompletedRun(
        argv=(name,),
        returncode=int(code) if code.lstrip("-").isdigit() else -1,
        stdout=read_untrusted(out_dir / f"{name}.out"),
        stderr=read_untrusted(out_dir / f"{name}.err"),
        seconds=seconds,
    )
