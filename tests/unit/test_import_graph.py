"""scripts/import_graph.py: the layers of this tree point one way, and the check catches
an upward import, a task reaching into the stack, and an import cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from seamline.config.project import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "import_graph.py"


def _check(root: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(SCRIPT), *([str(root)] if root else [])]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for layer in ("seamline", "tasks", "flows", "deployments"):
        (root / layer).mkdir(parents=True, exist_ok=True)
        (root / layer / "__init__.py").write_text("")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_this_tree_keeps_its_layers() -> None:
    result = _check()
    assert result.returncode == 0, result.stderr
    assert "[deployments]" in result.stdout and "[seamline]" in result.stdout
    assert "flows.ci → " in result.stdout


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deployments/cli.py": "from flows import ci\n",
            "flows/ci.py": "from tasks.scan import scan\n",
            "tasks/scan.py": "from seamline.policy import gate\n",
            "seamline/policy/__init__.py": "",
            "seamline/policy/gate.py": "import json\n",
            "seamline/a.py": "def late():\n    from seamline import b\n",
            "seamline/b.py": "from . import a\n",
        },
    )
    result = _check(root)
    assert result.returncode == 0, result.stderr
    assert "tasks.scan → seamline.policy.gate" in result.stdout
    assert "seamline.b → seamline.a" in result.stdout  # relative import resolved


def test_upward_imports_stack_imports_and_cycles_fail(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "seamline/reporting.py": "def f():\n    import flows.ci\n",
            "tasks/scan.py": "from deployments.cli import main\n",
            "tasks/probe.py": "from seamline.stack.stack import Stack\n",
            "seamline/stack/__init__.py": "",
            "seamline/stack/stack.py": "",
            "flows/ci.py": "",
            "deployments/cli.py": "",
            "seamline/a.py": "from seamline.b import thing\n",
            "seamline/b.py": "import seamline.c\n",
            "seamline/c.py": "from seamline import a\n",
        },
    )
    result = _check(root)
    assert result.returncode == 1
    problems = sorted(result.stderr.splitlines())
    assert problems == [
        "import cycle: seamline.a → seamline.b → seamline.c",
        "tasks.probe imports seamline.stack.stack: the stack is not for tasks",
        "upward import: seamline.reporting (seamline) imports flows.ci",
        "upward import: tasks.scan (tasks) imports deployments.cli",
    ]
