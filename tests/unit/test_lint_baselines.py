"""Which commit each service's new lint findings are counted from, and what the build-test
cache key is made of: pure functions of the config, the overlay's pins and the run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seamline.config.pipeline import PipelineConfig, load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.policy.overlay_moves import Pin
from tasks.preflight import check_settings, lint_baselines

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
RECORDED = "a" * 40
FORK = "f" * 40


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(BOOKSTORE, target)
    return target


def _config(repo: Path, pipeline: str = "", orders: str = "") -> PipelineConfig:
    path = repo / "seamline.toml"
    text = path.read_text()
    text = text.replace(
        'lint_config = ".golangci.yml"', f'lint_config = ".golangci.yml"\n{pipeline}'
    )
    text = text.replace('image = "bookstore/orders"', f'image = "bookstore/orders"\n{orders}')
    path.write_text(text)
    return load_pipeline_config(repo)


def _pins(*images: str) -> dict[str, Pin]:
    return {i: Pin(reference=f"r/{i}@sha256:{'1' * 64}", source_commit=RECORDED) for i in images}


def test_only_new_only_services_get_the_recorded_commit(repo: Path) -> None:
    config = _config(repo, orders="lint_new_findings_only = true")
    pins = _pins("bookstore/catalog", "bookstore/orders")
    assert lint_baselines(config, pins) == {"orders": RECORDED}


def test_a_first_bump_has_no_baseline_and_a_run_that_bumps_nothing_uses_its_fork_point(
    repo: Path,
) -> None:
    config = _config(repo, pipeline="lint_new_findings_only = true")
    assert lint_baselines(config, _pins("bookstore/catalog")) == {"catalog": RECORDED}
    assert lint_baselines(config, {}, fork_point=FORK) == {s.name: FORK for s in config.services}
    assert lint_baselines(config, {}) == {}


def test_check_settings_move_only_their_services_hash(repo: Path) -> None:
    before = check_settings(load_pipeline_config(repo))
    after = check_settings(_config(repo, orders='blocking_checks = ["test"]'))
    assert {s for s in before if before[s] != after[s]} == {"orders"}
    (repo / ".golangci.yml").write_text((repo / ".golangci.yml").read_text() + "\n# changed\n")
    changed = check_settings(load_pipeline_config(repo))
    assert all(changed[s] != after[s] for s in after)  # every service reads that config
