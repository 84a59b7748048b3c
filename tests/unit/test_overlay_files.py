"""An overlay's image pins and seamline-pins.json, read and written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError
from seamline.overlay.files import PINS_FILE, current_images, read_pins, write_pins
from seamline.policy.overlay_moves import Pin

DEV = PROJECT_ROOT / "examples" / "bookstore" / "kustomize" / "overlays" / "dev"
SHA = "a" * 40


def test_current_images_of_the_bookstore_dev_overlay() -> None:
    images = current_images(DEV)
    assert images["bookstore/catalog"] == "127.0.0.1:5000/bookstore/catalog:0.0.0"
    assert len(images) == 4


def test_digest_pins_and_missing_kustomization(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "images:\n- name: app\n  newName: r/app\n  digest: sha256:" + "1" * 64 + "\n"
    )
    assert current_images(tmp_path) == {"app": "r/app@sha256:" + "1" * 64}
    with pytest.raises(UsageError, match="no kustomization"):
        current_images(tmp_path / "missing")


def test_pins_round_trip(tmp_path: Path) -> None:
    pins = {"app": Pin(reference="r/app@sha256:" + "1" * 64, source_commit=SHA, source_repo="x")}
    write_pins(tmp_path, pins)
    assert read_pins(tmp_path) == (pins, [])


def test_bad_records_are_ignored_never_passed_on(tmp_path: Path) -> None:
    (tmp_path / PINS_FILE).write_text(
        json.dumps(
            {
                "format": 1,
                "images": {
                    "evil": {"reference": "r@sha256:0", "source_commit": "--upload-pack=x"},
                    "short": {"reference": "r@sha256:0", "source_commit": "abc123"},
                    "good": {"reference": "r@sha256:0", "source_commit": SHA},
                },
            }
        )
    )
    pins, notes = read_pins(tmp_path)
    assert list(pins) == ["good"]
    assert len(notes) == 2 and all("ignored" in n for n in notes)
    (tmp_path / PINS_FILE).write_text("{not json")
    assert read_pins(tmp_path)[0] == {}


def test_files_seamline_writes_must_not_be_symlinks(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("images: []\n")
    (tmp_path / PINS_FILE).symlink_to("/etc/passwd")
    with pytest.raises(UsageError, match="is a symlink"):
        current_images(tmp_path)
