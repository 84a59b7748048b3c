"""The wild-repo fixture with the real kustomize: `seamline init` writes a config that
loads, `seamline check` reports its four services and exits 0, and seamline's own overlay
handling (the preflight's trial edit, the audit's rendering) works on the layouts real
repositories have: images named with a registry host and tag in base manifests, images
declared by a component, and a single top-level kustomization as the one overlay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git
import pytest

from deployments.cli import main
from seamline.adapters.kustomize import Kustomize
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.errors import UsageError
from seamline.overlay.rendered import rendered_images
from seamline.policy.gate import GatePolicy
from seamline.tools.pins import locate
from tasks import audit
from tasks.preflight import overlay_takes_images
from tests.unit.fakes import WorkTreeRemote

WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild-repo"
SERVICES = ["cart", "checkout", "inventory", "email-sender"]


@pytest.fixture
def kustomize() -> Kustomize:
    return Kustomize(binary=locate("kustomize", Settings().tools_dir))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture as a fresh clone would be: a git working tree on main."""
    monkeypatch.setenv("SEAMLINE_STATE_DIR", str(tmp_path / "state"))
    target = tmp_path / "wild-repo"
    shutil.copytree(WILD, target)
    work = git.Repo.init(target, initial_branch="main")
    work.git.add("-A")
    work.git.commit("-qm", "shop", "--author", "a <a@example.com>")
    return target


def _initialized(repo: Path) -> Path:
    assert main(["init", str(repo)]) == 0
    return repo


def test_init_then_check_reports_the_four_services_and_exits_0(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(repo)]) == 0
    assert [s.name for s in load_pipeline_config(repo).services] == SERVICES
    capsys.readouterr()

    assert main(["check", "--repo", str(repo), "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert (report["branch"], report["overlay"]) == ("main", "staging")
    assert report["overlay_checked"].startswith("staging (deploy/overlays/staging) takes every")
    assert [s["name"] for s in report["services"]] == SERVICES
    cart = report["services"][0]
    assert cart["target"] == "127.0.0.1:5000/acme/shop/cart"
    assert cart["overlay_pin"] is None  # staging pins nothing yet: the base's tag deploys
    assert report["services"][2]["dockerfile"] == "services/inventory/build/Dockerfile"
    assert report["checks"][-1] == "bump staging"
    assert "golangci-lint (.golangci.yml)" in report["checks"]
    for service in SERVICES:
        assert f"  {service}: " in err
    # The check edited a copy: the repository is as it was.
    assert not git.Repo(repo).is_dirty(untracked_files=False)


def test_check_names_the_image_no_overlay_uses_with_exit_2(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _initialized(repo) / "seamline.toml"
    config.write_text(config.read_text().replace("acme/shop/checkout", "acme/shop/checkout-v2"))
    capsys.readouterr()
    assert main(["check", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "no manifest uses the image name(s) ghcr.io/acme/shop/checkout-v2" in err


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_the_preflight_edit_takes_host_tag_and_component_images(
    repo: Path, kustomize: Kustomize, overlay: str
) -> None:
    config = load_pipeline_config(_initialized(repo))
    folder = config.overlay(overlay)
    found = overlay_takes_images(kustomize, config, folder, label=overlay)
    if overlay == "production":  # its own images: pins cart by tag
        assert found == {"ghcr.io/acme/shop/cart": "ghcr.io/acme/shop/cart:v1.2.2"}
    images = [i.image for i in rendered_images(kustomize.build(folder), overlay=overlay)]
    # Every image, the base's host-and-tag ones and the component's, now by digest.
    assert sorted(i.split("@")[0] for i in images) == sorted(
        f"127.0.0.1:5000/acme/shop/{s}" for s in SERVICES
    )
    assert all("@sha256:" in i and ":v1" not in i and ":v0" not in i for i in images)


def test_the_audit_renders_each_wild_overlay(repo: Path, kustomize: Kustomize) -> None:
    _initialized(repo)
    rendered = audit.read_overlays(
        WorkTreeRemote(repo),
        kustomize,
        repo.parent / "look",
        overlay="",
        gate_of=lambda _config: GatePolicy.from_strings(["HIGH,CRITICAL"]),
    )
    assert [o.overlay for o in rendered.overlays] == ["production", "staging"]
    staging = rendered.overlays[1]
    assert sorted(i.image for i in staging.images) == [
        "ghcr.io/acme/shop/cart:v1.2.3",
        "ghcr.io/acme/shop/checkout:v1.2.3",
        "ghcr.io/acme/shop/email-sender:v0.9.0",
        "ghcr.io/acme/shop/inventory:v1.2.3",
    ]


def test_a_single_top_level_kustomization_is_edited_in_place(
    tmp_path: Path, kustomize: Kustomize, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository whose deploy/ folder is its one kustomization (no bases, no overlays
    folder): init names it the one overlay, and the preflight's edit renders there."""
    monkeypatch.setenv("SEAMLINE_STATE_DIR", str(tmp_path / "state"))
    repo = tmp_path / "single"
    shutil.copytree(WILD / "services" / "cart", repo)
    (repo / "deploy").mkdir()
    shutil.copy(WILD / "deploy" / "base" / "cart.yaml", repo / "deploy" / "cart.yaml")
    (repo / "deploy" / "kustomization.yaml").write_text("resources:\n  - cart.yaml\n")
    assert main(["init", str(repo)]) == 0
    config = load_pipeline_config(repo)
    assert config.pipeline.overlay_root == "deploy"
    folder = config.overlay(config.pipeline.default_overlay)
    assert folder == repo / "deploy"
    overlay_takes_images(kustomize, config, folder, label="deploy")
    (image,) = rendered_images(kustomize.build(folder), overlay="deploy")
    assert image.image.startswith("127.0.0.1:5000/acme/shop/cart@sha256:")
    with pytest.raises(UsageError, match="single kustomization"):
        config.overlay("prod")


def test_check_of_a_branch_that_bumps_nothing_lists_build_and_scan_only(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _initialized(repo)
    capsys.readouterr()
    assert main(["check", "--repo", str(repo), "--branch", "feature/x", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["branch"], report["overlay"]) == ("feature/x", None)
    assert report["checks"][-1].startswith("trivy gate (CRITICAL, HIGH)")
    assert "branch feature/x bumps no overlay" in report["warnings"][-1]
    # init mapped the Dockerfiles' upstream bases ([pipeline.base_images]): none is refused.
    assert not [w for w in report["warnings"] if "gcr.io/distroless" in w or "golang:" in w]
