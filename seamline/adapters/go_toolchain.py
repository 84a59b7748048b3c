"""Go: `go` on the host (versions, module downloads, our own programs) and what its
build, vet, test and golangci-lint output means."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from seamline.policy.source_checks import LintFinding
from seamline.tools.pins import locate
from seamline.tools.process import run

LINT_FINDINGS = 1
# How seamline runs Go everywhere: static binaries, the toolchain on the machine (never one
# Go downloads for itself). Module builds may update go.sum; the standard library needs no
# module flags.
GO_ENV = {"CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
_MODULE_ENV = {**GO_ENV, "GOFLAGS": "-mod=mod"}


@dataclass(frozen=True)
class TestCounts:
    passed: int
    failed: int
    skipped: int
    failures: tuple[str, ...]  # "pkg.TestName: its last output line"
    # "pkg: the compiler's first error", or why a package failed with no failing test
    build_failures: tuple[str, ...] = ()

    def explain(self, limit: int = 5) -> str:
        """Why `go test` failed, for a person: packages that did not build (or failed
        outside any test) and failing tests, the first few of each with a count."""
        parts = [
            _first(self.build_failures, "package(s) failed to build or run", limit),
            _first(self.failures, "test(s) failed", limit),
        ]
        return "; ".join(part for part in parts if part)


def _first(items: tuple[str, ...], what: str, limit: int) -> str:
    if not items:
        return ""
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return f"{len(items)} {what}: {'; '.join(items[:limit])}{more}"


def _events(stream: str) -> list[dict[str, Any]]:
    events = []
    for line in stream.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


# A package's own closing lines, which say nothing about why it failed.
_SUMMARY_LINE = re.compile(r"^(FAIL|ok|PASS)(\s|$)")


@dataclass
class _Stream:
    """`go test -json` events, gathered per test and per package."""

    outcome: dict[tuple[str, str], str] = field(default_factory=dict)
    last_line: dict[tuple[str, str], str] = field(default_factory=dict)
    build_output: dict[str, list[str]] = field(default_factory=dict)  # by build ImportPath
    build_fail: list[str] = field(default_factory=list)
    package_fail: dict[str, str] = field(default_factory=dict)  # package -> FailedBuild
    package_line: dict[str, str] = field(default_factory=dict)  # its last own output

    def add(self, event: dict[str, Any]) -> None:
        action = event.get("Action")
        text = str(event.get("Output", "")).strip()
        if action == "build-output":
            if text and not text.startswith("#"):
                self.build_output.setdefault(str(event.get("ImportPath", "")), []).append(text)
            return
        if action == "build-fail":
            self.build_fail.append(str(event.get("ImportPath", "")))
            return
        package, test = str(event.get("Package", "")), event.get("Test")
        if not test:
            if action == "fail":
                self.package_fail[package] = str(event.get("FailedBuild", ""))
            elif action == "output" and text and not _SUMMARY_LINE.match(text):
                self.package_line[package] = text
            return
        key = (package, str(test))
        if action == "output":
            if text and not text.startswith(("=== ", "--- ")):
                self.last_line[key] = text
        elif action in ("pass", "fail", "skip"):
            self.outcome[key] = action

    def failures(self) -> tuple[str, ...]:
        return tuple(
            sorted(
                f"{pkg}.{name}"
                + (f": {self.last_line[(pkg, name)]}" if (pkg, name) in self.last_line else "")
                for (pkg, name), a in self.outcome.items()
                if a == "fail"
            )
        )

    def broken(self) -> tuple[str, ...]:
        """Packages that failed with no failing test of their own: the build's first
        error (named by the package, not by the import that broke it), else the
        package's last line of output (a TestMain that exits, a panic in init)."""
        failing_tests = {pkg for (pkg, _), a in self.outcome.items() if a == "fail"}
        referenced = set(self.package_fail.values())
        # A Go that names no FailedBuild: the build's own import path names the package.
        unnamed = {b.split(" ")[0]: b for b in self.build_fail if b not in referenced}
        found = {package: self._first_error(build) for package, build in unnamed.items()}
        for package, build in self.package_fail.items():
            if build:
                found[package] = self._first_error(build)
            elif package not in failing_tests and package not in found:
                found[package] = self.package_line.get(package, "failed with no output")
        return tuple(f"{package}: {why}" for package, why in sorted(found.items()))

    def _first_error(self, build: str) -> str:
        return (self.build_output.get(build) or ["no compiler output"])[0]


def count_test_events(stream: str) -> TestCounts:
    """Counts per test (not per package) from `go test -json` output, with the reason of
    each failure: a test's last output line, a package's first compiler error."""
    gathered = _Stream()
    for event in _events(stream):
        gathered.add(event)
    values = list(gathered.outcome.values())
    return TestCounts(
        values.count("pass"),
        values.count("fail"),
        values.count("skip"),
        gathered.failures(),
        gathered.broken(),
    )


def go_test_text(stream: str) -> str:
    """The plain text a person reads from `go test -json` output: build errors and the
    tests' own output, as `go test` without -json would print it."""
    return "".join(
        str(event.get("Output", ""))
        for event in _events(stream)
        if event.get("Action") in ("output", "build-output")
    )


def lint_argv(
    *, config: str | None, json_path: str, new_from_patch: str | None = None
) -> list[str]:
    """How seamline runs golangci-lint in a module's folder: the text report to stdout for
    a person, the JSON one to ``json_path`` for the gate, paths absolute (so they read
    the same whatever folder the config is in). With ``new_from_patch``, only findings on
    the lines that unified diff adds count; its paths are relative to the module folder."""
    argv = ["golangci-lint", "run", "--allow-parallel-runners", "--path-mode", "abs"]
    if config:
        argv += ["--config", config]
    argv += ["--output.text.path", "stdout", "--output.json.path", json_path]
    if new_from_patch:
        argv += ["--new-from-patch", new_from_patch]
    return [*argv, "./..."]


def parse_lint_json(text: str, *, root: str) -> tuple[LintFinding, ...]:
    """golangci-lint's JSON report as findings, each path made relative to ``root`` (the
    folder the repository is at where lint ran). The report comes from the sandbox: any
    entry not shaped as expected is skipped."""
    try:
        document = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return ()
    issues = document.get("Issues") if isinstance(document, dict) else None
    prefix = root.rstrip("/") + "/"
    found = []
    for issue in issues if isinstance(issues, list) else []:
        pos = issue.get("Pos") if isinstance(issue, dict) else None
        if not isinstance(pos, dict):
            continue
        path, line = pos.get("Filename"), pos.get("Line")
        if not isinstance(path, str) or not isinstance(line, int):
            continue
        found.append(
            LintFinding(
                linter=str(issue.get("FromLinter", "")),
                path=path.removeprefix(prefix),
                line=line,
                text=str(issue.get("Text", "")),
            )
        )
    return tuple(found)


def patch_paths(patch: str) -> frozenset[str]:
    """The files a unified diff adds lines to, as ``+++ b/PATH`` names them."""
    return frozenset(
        line.removeprefix("+++ b/").rstrip("\t")
        for line in patch.splitlines()
        if line.startswith("+++ b/")
    )


class GoToolchain:
    """Go on the host, and the only place seamline runs `go`: only what runs none of a
    repository's code. A repository's build, vet, lint and tests run in the sandbox
    (``seamline.adapters.go_sandbox``)."""

    def __init__(self, *, go: Path, proxy: str = "") -> None:
        """``proxy``: GOPROXY for module downloads (empty: the environment's)."""
        self._go = go
        self._proxy = proxy

    @classmethod
    def located(cls, tools_dir: Path) -> GoToolchain:
        """The `go` in the project's tools folder, else on PATH."""
        return cls(go=locate("go", tools_dir))

    def version(self) -> str:
        """``1.26.8``: the toolchain's version, without the ``go`` prefix."""
        return _env_value(str(self._go), "GOVERSION").removeprefix("go")

    def goroot(self) -> Path:
        return Path(_env_value(str(self._go), "GOROOT"))

    def download_modules(self, module: Path, cache: Path) -> None:
        """Fetch the module's dependencies into ``cache`` (a module cache the sandbox
        mounts read-only). Downloading runs none of the fetched code."""
        if (module / "vendor" / "modules.txt").is_file():
            return  # vendored: the sandbox builds from vendor/
        cache.mkdir(parents=True, exist_ok=True)
        go_mod = module / "go.mod"
        if go_mod.is_file() and not requires_modules(go_mod.read_text(errors="replace")):
            return  # the standard library only: nothing to fetch
        run(
            [str(self._go), "mod", "download"],
            cwd=module,
            env={
                **_MODULE_ENV,
                "GOMODCACHE": str(cache),
                **({"GOPROXY": self._proxy} if self._proxy else {}),
            },
            timeout=900,
            hint="check that the Go module proxy is reachable (GOPROXY) and go.sum is current",
        )

    def build_program(self, package: Path, output: Path, *, hint: str) -> None:
        """Build the main package in ``package`` (our own code, e.g. the trivy DB builder)
        into the binary ``output``."""
        run(
            [str(self._go), "build", "-o", str(output), "."],
            cwd=package,
            env=_MODULE_ENV,
            timeout=900,
            hint=hint,
        )

    def build_std(self, gocache: Path) -> None:
        """Compile the standard library into the build cache ``gocache`` the way image
        builds compile (static, -trimpath), so a build then compiles only its own code."""
        run(
            [str(self._go), "build", "-trimpath", "std"],
            env={**GO_ENV, "GOCACHE": str(gocache), "GOFLAGS": ""},
            timeout=1800,
        )


@cache
def _env_value(go: str, name: str) -> str:
    """One `go env` value; the toolchain does not change under a running process."""
    return run([go, "env", name]).stdout.strip()


def requires_modules(go_mod: str) -> bool:
    """Whether a go.mod's text has a ``require`` directive (one line or a block)."""
    return any(
        re.match(r"require(\s|\(|$)", line.split("//", 1)[0].strip())
        for line in go_mod.splitlines()
    )
