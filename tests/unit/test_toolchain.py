from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from seamline.config.settings import PROJECT_ROOT
from seamline.errors import StateCorrupt
from seamline.tools.pins import ToolPin, ToolReport, probe, read_pins


def test_project_pins_cover_every_tool() -> None:
    pins = {p.name: p for p in read_pins(PROJECT_ROOT / "toolchain.env")}
    assert set(pins) == {
        "go",
        "golangci-lint",
        "trivy",
        "syft",
        "cosign",
        "kustomize",
        "buildkit",
    }
    assert pins["go"].minimum
    assert all(not p.version.startswith("v") for p in pins.values())


def test_malformed_pin_file(tmp_path: Path) -> None:
    bad = tmp_path / "toolchain.env"
    bad.write_text("GO_MIN_VERSION=1.26\nthis is not a pin\n")
    with pytest.raises(StateCorrupt, match=r"toolchain.env:2"):
        read_pins(bad)


def test_report_ok_rules() -> None:
    assert ToolReport("go", "1.26.8", "1.27.0", "/go").ok
    assert not ToolReport("go", "1.26.8", "1.26.1", "/go").ok
    assert ToolReport("trivy", "0.74.0", "0.74.0", "/t").ok
    assert not ToolReport("trivy", "0.74.0", "0.75.0", "/t").ok
    assert not ToolReport("trivy", "0.74.0", None, None).ok


def _fake_tool(directory: Path, name: str, output: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_probe_reads_version_from_tools_dir(tmp_path: Path) -> None:
    _fake_tool(tmp_path, "trivy", "Version: 0.74.0")
    report = probe(ToolPin("trivy", "0.74.0", minimum=False), tmp_path)
    assert report.found == "0.74.0"
    assert report.ok


def test_probe_missing_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    report = probe(ToolPin("cosign", "2.6.5", minimum=False), tmp_path)
    assert report.found is None
    assert not report.ok


def test_probe_cache_skips_the_tool_until_it_changes(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    _fake_tool(tools, "syft", "Version: 1.57.1")
    cache = tmp_path / "cache.json"
    pin = ToolPin("syft", "1.57.1", minimum=False)
    assert probe(pin, tools, cache).found == "1.57.1"
    calls = tmp_path / "calls"
    (tools / "syft").write_text(f"#!/bin/sh\necho x >> {calls}\necho 'Version: 1.57.1'\n")
    stat = (tools / "syft").stat()
    os.utime(tools / "syft", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert probe(pin, tools, cache).found == "1.57.1"
    assert calls.read_text().count("x") == 1  # changed binary: asked once
    assert probe(pin, tools, cache).found == "1.57.1"
    assert calls.read_text().count("x") == 1  # unchanged since: answered from the cache
