"""The pinned toolchain (toolchain.env) and how to find and ask each tool its version."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from seamline.errors import StateCorrupt, ToolMissing
from seamline.tools.process import run

INSTALL_HINT = "run `make setup` (or scripts/install-tools.sh) to build the pinned tools"

# argv that makes each tool print its version, and the pattern that finds it.
_VERSION_PROBES: dict[str, tuple[list[str], str]] = {
    "go": (["version"], r"go(\d+\.\d+(?:\.\d+)?)"),
    "golangci-lint": (["version"], r"version v?(\d+\.\d+\.\d+)"),
    "trivy": (["--version"], r"Version: v?(\d+\.\d+\.\d+)"),
    "syft": (["version"], r"Version:\s+v?(\d+\.\d+\.\d+)"),
    "cosign": (["version"], r"GitVersion:\s+v?(\d+\.\d+\.\d+)"),
    "kustomize": (["version"], r"v?(\d+\.\d+\.\d+)"),
    "buildkit": (["--version"], r"github\.com/moby/buildkit v(\d+\.\d+\.\d+)"),
}
# A pin named for its project whose binaries are named otherwise: the one asked its version
# (the installer builds buildkitd and buildctl together).
_PROBED_BINARY = {"buildkit": "buildctl"}


@dataclass(frozen=True)
class ToolPin:
    name: str
    version: str  # without a leading "v"
    minimum: bool  # True: any version >= this is accepted


@dataclass(frozen=True)
class ToolReport:
    name: str
    pinned: str
    found: str | None
    path: str | None

    @property
    def ok(self) -> bool:
        if self.found is None:
            return False
        if self.name == "go":
            return _as_tuple(self.found) >= _as_tuple(self.pinned)
        return self.found == self.pinned


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def read_pins(path: Path) -> list[ToolPin]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError as e:
        raise StateCorrupt(f"{path} is missing", hint="restore it from git") from e
    values: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise StateCorrupt(f"{path}:{number}: expected KEY=value, got {raw!r}")
        values[key.strip()] = value.strip()
    pins = [ToolPin("go", values["GO_MIN_VERSION"], minimum=True)]
    for name in ("golangci-lint", "trivy", "syft", "cosign", "kustomize", "buildkit"):
        key = name.upper().replace("-", "_") + "_VERSION"
        if key not in values:
            raise StateCorrupt(f"{path}: no {key}", hint="restore toolchain.env from git")
        pins.append(ToolPin(name, values[key].lstrip("v"), minimum=False))
    return pins


def locate(name: str, tools_dir: Path) -> Path:
    """The tool's binary: the project's tools dir first, then PATH."""
    local = tools_dir / name
    if local.exists():
        return local
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} not found in {tools_dir} or on PATH", hint=INSTALL_HINT)
    return Path(found)


def probe(pin: ToolPin, tools_dir: Path, cache: Path | None = None) -> ToolReport:
    """Ask the tool its version; with ``cache``, only when the binary changed since."""
    try:
        binary = locate(_PROBED_BINARY.get(pin.name, pin.name), tools_dir)
    except ToolMissing:
        return ToolReport(pin.name, pin.version, None, None)
    stat = binary.resolve().stat()
    fingerprint = f"{binary.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"
    known = _read_cache(cache)
    if fingerprint in known:
        return ToolReport(pin.name, pin.version, known[fingerprint], str(binary))
    args, pattern = _VERSION_PROBES[pin.name]
    result = run([str(binary), *args], check=False, timeout=30)
    match = re.search(pattern, result.stdout + result.stderr)
    found = match.group(1) if match else None
    if cache is not None and found is not None:
        known[fingerprint] = found
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=1, sort_keys=True))
    return ToolReport(pin.name, pin.version, found, str(binary))


def _read_cache(cache: Path | None) -> dict[str, str]:
    if cache is None or not cache.is_file():
        return {}
    try:
        data = json.loads(cache.read_text())
    except json.JSONDecodeError:
        return {}  # a cache, not state: rebuilt on the next probe
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
