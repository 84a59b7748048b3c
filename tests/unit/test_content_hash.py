from __future__ import annotations

import shutil
from pathlib import Path

from seamline.cache.content_hash import tree_hash, value_hash


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "main.go").write_text("package main\n")
    (root / "pkg" / "lib.go").write_text("package pkg\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: x\n")
    return root


def test_same_content_elsewhere_same_hash(tmp_path: Path) -> None:
    a = _tree(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / ".git" / "HEAD").write_text("other\n")
    assert tree_hash(a) == tree_hash(b)


def test_any_change_changes_the_hash(tmp_path: Path) -> None:
    root = _tree(tmp_path / "a")
    before = tree_hash(root)
    (root / "pkg" / "lib.go").write_text("package pkg // changed\n")
    assert tree_hash(root) != before
    changed = tree_hash(root)
    (root / "pkg" / "lib.go").rename(root / "pkg" / "lib2.go")
    assert tree_hash(root) != changed
    renamed = tree_hash(root)
    (root / "pkg" / "lib2.go").chmod(0o755)
    assert tree_hash(root) != renamed


def test_value_hash_is_order_independent_for_keys() -> None:
    assert value_hash({"a": 1, "b": 2}) == value_hash({"b": 2, "a": 1})
    assert value_hash({"a": 1}) != value_hash({"a": 2})


def test_a_symlinked_folder_counts_by_its_target(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text(name)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "lib").symlink_to(tmp_path / "one")
    before = tree_hash(tree)
    (tree / "lib").unlink()
    (tree / "lib").symlink_to(tmp_path / "two")
    assert tree_hash(tree) != before
