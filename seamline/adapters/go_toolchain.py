"""Go: `go` on the host (versions, module downloads, our own programs) and what its
build, vet, test and golangci-lint output means."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
    build_failures: tuple[str, ...] = ()  # "pkg: the compiler's first error"

    def explain(self, limit: int = 5) -> str:
        """Why `go test` failed, for a person: packages that did not build and failing
        tests, the first few of each with a count."""
        parts = [
            _first(self.build_failures, "package(s) failed to build", limit),
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
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def count_test_events(stream: str) -> TestCounts:
    """Counts per test (not per package) from `go test -json` output, with the reason of
    each failure: a test's last output line, a package's first compiler error."""
    outcome: dict[tuple[str, str], str] = {}
    last_line: dict[tuple[str, str], str] = {}
    build_output: dict[str, list[str]] = {}
    failed_builds: list[str] = []
    for event in _events(stream):
        action = event.get("Action")
        if action == "build-output":
            text = str(event.get("Output", "")).strip()
            if text and not text.startswith("#"):
                build_output.setdefault(str(event.get("ImportPath", "")), []).append(text)
        elif action == "build-fail":
            failed_builds.append(str(event.get("ImportPath", "")))
        test = event.get("Test")
        if not test:
            continue
        key = (str(event.get("Package", "")), str(test))
        if action == "output":
            text = str(event.get("Output", "")).strip()
            if text and not text.startswith(("=== ", "--- ")):
                last_line[key] = text
        elif action in ("pass", "fail", "skip"):
            outcome[key] = action
    failures = tuple(
        sorted(
            f"{pkg}.{name}" + (f": {last_line[(pkg, name)]}" if (pkg, name) in last_line else "")
            for (pkg, name), a in outcome.items()
            if a == "fail"
        )
    )
    broken = tuple(
        f"{path.split(' ')[0]}: {(build_output.get(path) or ['no compiler output'])[0]}"
        for path in sorted(set(failed_builds))
    )
    values = list(outcome.values())
    return TestCounts(
        values.count("pass"), values.count("fail"), values.count("skip"), failures, broken
    )


def go_test_text(stream: str) -> str:
    """The plain text a person reads from `go test -json` output: build errors and the
    tests' own output, as `go test` without -json would print it."""
    return "".join(
        str(event.get("Output", ""))
        for event in _events(stream)
        if event.get("Action") in ("output", "build-output")
    )


_FINDING = re.compile(r"^(?P<where>\S+?:\d+)(?::\d+)?: (?P<what>.+) \((?P<linter>[\w-]+)\)$")


def summarize_lint(output: str, *, shown: int = 3) -> str:
    """golangci-lint's findings for a person: the count per linter and the first few with
    file:line; the whole output stays in the evidence."""
    findings = [m for line in output.splitlines() if (m := _FINDING.match(line.strip()))]
    if not findings:
        return ""
    per_linter: dict[str, int] = {}
    for found in findings:
        per_linter[found["linter"]] = per_linter.get(found["linter"], 0) + 1
    counts = ", ".join(f"{name} {n}" for name, n in sorted(per_linter.items()))
    first = "; ".join(f"{m['where']}: {m['what']} ({m['linter']})" for m in findings[:shown])
    more = f" (+{len(findings) - shown} more)" if len(findings) > shown else ""
    return f"{len(findings)} finding(s) ({counts}): {first}{more}"


class GoToolchain:
    """Go on the host, and the only place seamline runs `go`: only what runs none of a
    repository's code. A repository's build, vet, lint and tests run in the sandbox
    (``seamline.adapters.go_sandbox``)."""

    def __init__(self, *, go: Path) -> None:
        self._go = go

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
        run(
            [str(self._go), "mod", "download"],
            cwd=module,
            env={**_MODULE_ENV, "GOMODCACHE": str(cache)},
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
