"""Go: build, vet and test a module; golangci-lint over it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from seamline.runner import CompletedRun, run

LINT_FINDINGS = 1
_GO_ENV = {"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}


@dataclass(frozen=True)
class TestCounts:
    passed: int
    failed: int
    skipped: int
    failures: tuple[str, ...]


def count_test_events(stream: str) -> TestCounts:
    """Counts per test (not per package) from `go test -json` output."""
    outcome: dict[tuple[str, str], str] = {}
    for line in stream.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        test = event.get("Test")
        if test and event.get("Action") in ("pass", "fail", "skip"):
            outcome[(event.get("Package", ""), test)] = event["Action"]
    failures = tuple(sorted(f"{pkg}.{name}" for (pkg, name), a in outcome.items() if a == "fail"))
    values = list(outcome.values())
    return TestCounts(values.count("pass"), values.count("fail"), values.count("skip"), failures)


class GoToolchain:
    def __init__(self, *, go: Path, golangci_lint: Path, cache_dir: Path) -> None:
        self._go = go
        self._lint = golangci_lint
        self._cache_dir = cache_dir

    def _env(self) -> dict[str, str]:
        return {**_GO_ENV, "GOLANGCI_LINT_CACHE": str(self._cache_dir / "golangci-lint")}

    def build(self, module: Path, out_dir: Path) -> CompletedRun:
        """Compile every package; binaries go to ``out_dir``, never into the source tree."""
        out_dir.mkdir(parents=True, exist_ok=True)
        return run(
            [str(self._go), "build", "-o", f"{out_dir}/", "./..."],
            cwd=module,
            env=self._env(),
            timeout=600,
            check=False,
        )

    def vet(self, module: Path) -> CompletedRun:
        return run(
            [str(self._go), "vet", "./..."], cwd=module, env=self._env(), timeout=600, check=False
        )

    def lint(self, module: Path, config: Path | None) -> CompletedRun:
        """Exit code 1 means findings (see LINT_FINDINGS); anything else is a tool fault."""
        argv = [str(self._lint), "run", "--allow-parallel-runners"]
        if config is not None:
            argv += ["--config", str(config)]
        return run([*argv, "./..."], cwd=module, env=self._env(), timeout=900, check=False)

    def test(self, module: Path) -> tuple[CompletedRun, TestCounts]:
        result = run(
            [str(self._go), "test", "-json", "-count=1", "./..."],
            cwd=module,
            env=self._env(),
            timeout=900,
            check=False,
        )
        return result, count_test_events(result.stdout)
