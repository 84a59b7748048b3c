"""The Go adapter against the real `go` on this machine: the one place seamline runs it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from seamline.adapters.go_toolchain import GoToolchain
from seamline.config.settings import Settings


def _go() -> GoToolchain:
    return GoToolchain.located(Settings().tools_dir)


def test_version_and_goroot_describe_the_installed_toolchain() -> None:
    go = _go()
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", go.version())
    assert (go.goroot() / "bin" / "go").is_file()


def test_build_program_builds_our_own_program(tmp_path: Path) -> None:
    package = tmp_path / "hello"
    package.mkdir()
    (package / "go.mod").write_text("module example.test/hello\n\ngo 1.21\n")
    (package / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from go") }\n'
    )
    binary = tmp_path / "bin" / "hello"
    _go().build_program(package, binary, hint="")
    ran = subprocess.run([str(binary)], capture_output=True, text=True, check=True)
    assert ran.stdout == "hello from go\n"
