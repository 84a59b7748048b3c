"""`import deployments.cli` registers every subcommand's arguments without importing what
the commands run: `seamline run` pays nothing for audit, init, check, promote or rescan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Modules only a command's handler needs; none may load while the parser is built.
HEAVY = (
    "prefect",
    "docker",
    "yaml",
    "flows",
    "tasks",
    "seamline.run.audit_report",
    "seamline.policy.audit",
    "seamline.policy.kyverno",
    "seamline.validate.image_ref",
    "seamline.onboard",
    "seamline.config.pipeline",
    "seamline.overlay",
    "seamline.stack",
    "deployments.check_preview",
    "deployments.run_command",
)


def test_importing_the_cli_loads_no_command_module() -> None:
    code = (
        "import json, sys; import deployments.cli as cli; cli._parser(); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
