"""A run's layout folders name their owner process; a run's first step removes those
whose owner is gone, and nothing else."""

from __future__ import annotations

import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from seamline.adapters.go_sandbox import OWNER_LABEL, remove_orphan_sandboxes
from seamline.run.layout_owner import OWNER_FILE, claim, remove_orphans
from seamline.tools.owner import owner_alive, owner_token, process_start


def _run_folder(root: Path, owner: str | None) -> Path:
    folder = root / str(uuid.uuid4())
    (folder / "catalog").mkdir(parents=True)
    if owner is not None:
        (folder / OWNER_FILE).write_text(owner)
    return folder


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_claimed_folder_names_this_process_and_is_kept(tmp_path: Path) -> None:
    mine = tmp_path / str(uuid.uuid4())
    claim(mine)
    claim(mine)  # a second service of the same run
    _, pid, start = (mine / OWNER_FILE).read_text().split()
    assert int(pid) == os.getpid() and start == process_start(os.getpid())
    assert remove_orphans(tmp_path) == [] and mine.is_dir()
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]  # nothing left aside


def test_folders_of_gone_owners_are_removed(tmp_path: Path) -> None:
    boot = owner_token().split()[0]
    dead = _run_folder(tmp_path, f"{boot} {_dead_pid()} 123\n")
    reused = _run_folder(tmp_path, f"{boot} {os.getpid()} 1\n")  # this pid, another start
    unowned = _run_folder(tmp_path, None)
    garbled = _run_folder(tmp_path, "not a pid\n")
    removed = remove_orphans(tmp_path)
    assert sorted(removed) == sorted(f.name for f in (dead, reused, unowned, garbled))
    assert not any(f.exists() for f in (dead, reused, unowned, garbled))


def test_only_run_folders_other_than_the_kept_one_are_touched(tmp_path: Path) -> None:
    kept = _run_folder(tmp_path, None)
    other = tmp_path / "not-a-run"
    other.mkdir()
    upper = tmp_path / str(uuid.uuid4()).upper()
    upper.mkdir()
    stray = tmp_path / "stray-file"
    stray.write_text("x")
    assert remove_orphans(tmp_path, keep=kept.name) == []
    assert kept.is_dir() and other.is_dir() and upper.is_dir() and stray.is_file()
    assert remove_orphans(tmp_path / "absent") == []


def test_no_such_process_has_no_start_time() -> None:
    assert process_start(_dead_pid()) is None
    assert process_start(os.getpid()) is not None


def test_services_claiming_side_by_side_make_one_owned_folder(tmp_path: Path) -> None:
    folder = tmp_path / str(uuid.uuid4())
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: claim(folder), range(32)))
    assert (folder / OWNER_FILE).read_text().split()[1] == str(os.getpid())
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_an_owner_token_names_a_live_process_and_nothing_else() -> None:
    boot = owner_token().split()[0]
    assert owner_alive(owner_token())
    assert not owner_alive(f"{boot} {_dead_pid()} 1")
    assert not owner_alive("garbled")
    assert owner_alive(f"another-machine {_dead_pid()} 1")  # not judged from here


class _Container:
    def __init__(self, owner: str) -> None:
        self.labels = {OWNER_LABEL: owner}
        self.short_id = owner.split()[1]
        self.removed = False

    def remove(self, force: bool) -> None:
        self.removed = force


class _Containers:
    def __init__(self, found: list[_Container]) -> None:
        self.found = found
        self.asked: dict[str, Any] = {}

    def list(self, **kwargs: Any) -> list[_Container]:
        self.asked = kwargs
        return self.found


def test_only_sandboxes_of_gone_owners_are_stopped_and_removed() -> None:
    boot = owner_token().split()[0]
    live, gone = _Container(owner_token()), _Container(f"{boot} {_dead_pid()} 5")
    containers = _Containers([live, gone])
    client = SimpleNamespace(containers=containers)
    assert remove_orphan_sandboxes(client) == [gone.short_id]  # type: ignore[arg-type]
    assert gone.removed and not live.removed
    assert containers.asked == {"all": True, "filters": {"label": OWNER_LABEL}}
