from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seamline.errors import UsageError
from seamline.pipeline_config import load_pipeline_config
from seamline.settings import PROJECT_ROOT

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"


def test_bookstore_config() -> None:
    config = load_pipeline_config(BOOKSTORE)
    assert [s.name for s in config.services] == [
        "catalog",
        "orders",
        "payments-worker",
        "storefront",
    ]
    catalog = config.services[0]
    assert config.dockerfile_of(catalog).is_file()
    assert config.target_repository(catalog) == "127.0.0.1:5000/bookstore/catalog"
    assert (config.overlay("prod") / "kustomization.yaml").is_file()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(BOOKSTORE, target)
    return target


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"seamline\.toml not found"):
        load_pipeline_config(tmp_path)


def test_missing_dockerfile_named(repo: Path) -> None:
    (repo / "app" / "orders" / "Dockerfile").unlink()
    with pytest.raises(UsageError, match="service orders"):
        load_pipeline_config(repo)


def test_duplicate_and_bad_fields(repo: Path) -> None:
    text = (repo / "seamline.toml").read_text()
    (repo / "seamline.toml").write_text(text.replace('name = "orders"', 'name = "catalog"'))
    with pytest.raises(UsageError, match="repeat: catalog"):
        load_pipeline_config(repo)
    (repo / "seamline.toml").write_text(text.replace('name = "orders"', 'name = "Orders!"'))
    with pytest.raises(UsageError, match=r"services\.1\.name"):
        load_pipeline_config(repo)
