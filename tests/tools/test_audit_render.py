"""The audit reads what the real kustomize renders: the Bookstore's overlays as seeded
(every image pinned by tag), and the emitted policy covering each of their images."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

import yaml

from seamline.adapters.kustomize import Kustomize
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.policy.audit import pinned_check
from seamline.policy.gate import GatePolicy
from seamline.tools.pins import locate
from tasks import audit
from tests.unit.fakes import WorkTreeRemote

SERVICES = ("catalog", "orders", "payments-worker", "storefront")


def test_the_seeded_bookstore_renders_four_tag_pinned_images_per_overlay(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "examples" / "bookstore", tmp_path / "gitops")
    rendered = audit.read_overlays(
        WorkTreeRemote(tmp_path / "gitops"),
        Kustomize(binary=locate("kustomize", Settings().tools_dir)),
        tmp_path / "look",
        gate_of=lambda _config: GatePolicy.from_strings(["HIGH,CRITICAL"]),
        overlay="",
    )
    expected = [f"127.0.0.1:5000/bookstore/{s}:0.0.0" for s in SERVICES]
    for overlay in rendered.overlays:
        assert [i.image for i in overlay.images] == expected, overlay.overlay
    assert [o.overlay for o in rendered.overlays] == ["dev", "prod", "staging"]
    assert all(not pinned_check(ref).passed for ref in rendered.references())

    (tmp_path / "k.key").write_text("encrypted")
    (tmp_path / "k.pub").write_text("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n")
    settings = Settings(state_dir=tmp_path / "state", signing_key=str(tmp_path / "k.key"))
    policy = yaml.safe_load(audit.kyverno_policy(settings, rendered, enforce=False))
    patterns = policy["spec"]["rules"][0]["verifyImages"][0]["imageReferences"]
    assert all(any(fnmatch.fnmatchcase(i, p) for p in patterns) for i in expected)
