"""The bump loses a push race to another writer and redoes its commit on the new head."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import git

from seamline.adapters.git_repo import seed_bare_remote
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.orchestration.api_access import prefect_environment

SCRIPT = Path(__file__).parent / "scripts" / "bump_race.py"


def test_a_lost_push_race_is_redone_on_top_of_the_rival(
    stack_up: dict[str, Any], settings: Settings, tmp_path: Path
) -> None:
    remote = tmp_path / "bookstore.git"
    seed_bare_remote(PROJECT_ROOT / "examples" / "bookstore", remote, branch="main", message="s")
    env = {**os.environ, **prefect_environment(settings), "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(remote)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    history = list(git.Repo(remote).iter_commits("main"))
    assert outcome["commit"] == history[0].hexsha
    assert history[1].hexsha == outcome["rival"]  # ours sits on top of the rival's commit
    tree = history[0].tree
    assert "RIVAL.md" in [blob.name for blob in tree.blobs]
    overlay = (tree / "kustomize/overlays/dev/kustomization.yaml").data_stream.read().decode()
    assert overlay.count("digest: sha256:" + "ab" * 32) == 4
    assert "push race on main (attempt 1)" in result.stderr
