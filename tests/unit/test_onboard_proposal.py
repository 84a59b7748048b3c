"""`seamline init`'s proposal: services matched to the images the kustomize tree deploys
(host and tag in base manifests, images declared by components), the overlays and their
guesses; the seamline.toml it writes loads as the pipeline's config."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError
from seamline.onboard.discover import DiscoveredService
from seamline.onboard.kustomize_tree import read_tree
from seamline.onboard.proposal import match_services, propose
from seamline.onboard.toml_text import render_toml

WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild-repo"
IMAGES = tuple(f"ghcr.io/acme/shop/{s}" for s in ("cart", "checkout", "email-sender", "inventory"))


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _deployment(name: str, image: str) -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\n"
        f"spec:\n  template:\n    spec:\n      containers:\n        - name: {name}\n"
        f"          image: {image}\n"
    )


def test_the_wild_tree_deploys_host_and_tag_images_and_the_components() -> None:
    tree = read_tree(WILD)
    tops = [tree.relative(t) for t in tree.top_level()]
    assert tops == ["deploy/overlays/production", "deploy/overlays/staging"]
    # production's own images: (a newTag for cart) is what seamline edits: no rename.
    assert all(tree.images_of(t) == IMAGES for t in tree.top_level())


def test_a_component_renames_what_its_parent_holds(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [app.yaml]\n",
            "base/app.yaml": _deployment("app", "app:1.0"),
            "mirror/kustomization.yaml": (
                "kind: Component\n"
                "images:\n  - {name: app, newName: registry.example:5000/team/app}\n"
            ),
            "kustomization.yaml": "resources: [base]\ncomponents: [mirror]\n",
        },
    )
    tree = read_tree(tmp_path)
    assert [tree.relative(t) for t in tree.top_level()] == ["."]
    assert tree.images_of(tmp_path.resolve()) == ("registry.example:5000/team/app",)


def test_resources_outside_the_repository_are_skipped_and_said(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "outside.yaml": _deployment("x", "x:1"),
            "repo/deploy/kustomization.yaml": (
                "resources:\n  - ../../outside.yaml\n  - https://github.com/a/b//c\n  - app.yaml\n"
            ),
            "repo/deploy/app.yaml": _deployment("app", "ghcr.io/acme/app:v1"),
        },
    )
    tree = read_tree(tmp_path / "repo")
    assert tree.images_of((tmp_path / "repo" / "deploy").resolve()) == ("ghcr.io/acme/app",)
    assert len(tree.notes) == 2 and all("not in the repository" in n for n in tree.notes)


def test_matching_by_name_folder_or_module_and_the_unmatched() -> None:
    services = [
        DiscoveredService(name="cart", context="services/cart", dockerfile="Dockerfile", module=""),
        DiscoveredService(
            name="server",
            context="inventory",
            dockerfile="cmd/server/Dockerfile",
            module="example.com/shop/inventory",
        ),
        DiscoveredService(name="tools", context="tools", dockerfile="Dockerfile", module=""),
    ]
    proposed, unmatched = match_services(services, IMAGES)
    assert [(p.name, p.image, p.repository, p.matched) for p in proposed] == [
        ("cart", "ghcr.io/acme/shop/cart", "acme/shop/cart", True),
        ("server", "ghcr.io/acme/shop/inventory", "acme/shop/inventory", True),
        ("tools", "tools", "tools", False),
    ]
    assert "is a guess" in proposed[2].notes[0]
    assert unmatched == ("ghcr.io/acme/shop/checkout", "ghcr.io/acme/shop/email-sender")


def test_the_wild_repo_proposal() -> None:
    proposal = propose(WILD, registry="127.0.0.1:5000")
    assert (proposal.overlay_root, proposal.overlays) == (
        "deploy/overlays",
        ("production", "staging"),
    )
    assert proposal.default_overlay == "staging"
    assert proposal.promotions == {"staging": "production"}
    assert proposal.lint_config == ".golangci.yml"
    assert [(s.name, s.image) for s in proposal.services] == [
        ("cart", IMAGES[0]),
        ("checkout", IMAGES[1]),
        ("inventory", IMAGES[3]),
        ("email-sender", IMAGES[2]),
    ]
    assert proposal.unmatched_images == ()


def test_what_init_writes_for_the_wild_repo_loads(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(WILD, repo)
    text = render_toml(propose(repo, registry="127.0.0.1:5000"))
    (repo / "seamline.toml").write_text(text)
    config = load_pipeline_config(repo)
    assert [s.name for s in config.services] == ["cart", "checkout", "inventory", "email-sender"]
    assert config.dockerfile_of(config.services[2]) == repo / "services/inventory/build/Dockerfile"
    assert config.overlay("staging") == repo / "deploy/overlays/staging"
    assert config.promotions() == {"staging": "production"}
    assert "# name 'email-sender' sanitized from the folder name 'email_sender'" in text
    assert "# guessed" in text


def test_a_single_top_level_kustomization_is_the_one_overlay(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/api\n",
            "Dockerfile": "FROM scratch\n",
            "deploy/kustomization.yaml": "resources: [api.yaml]\n",
            "deploy/api.yaml": _deployment("api", "quay.io/team/api:2.0"),
        },
    )
    proposal = propose(tmp_path, registry="127.0.0.1:5000")
    assert (proposal.overlay_root, proposal.single_overlay) == ("deploy", True)
    assert proposal.services[0].image == "quay.io/team/api"
    (tmp_path / "seamline.toml").write_text(render_toml(proposal))
    config = load_pipeline_config(tmp_path)
    assert config.overlay(proposal.default_overlay) == (tmp_path / "deploy").resolve()
    assert config.overlay_folders(tmp_path) == {
        proposal.default_overlay: tmp_path.resolve() / "deploy"
    }
    with pytest.raises(UsageError, match="single kustomization"):
        config.overlay("prod")


def test_names_that_cannot_be_overlays_are_left_out_and_said(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/Dockerfile": "FROM scratch\n",
            "k8s/base/kustomization.yaml": "resources: [app.yaml]\n",
            "k8s/base/app.yaml": _deployment("app", "app"),
            "k8s/envs/Dev/kustomization.yaml": "resources: [../../base]\n",
            "k8s/envs/qa/kustomization.yaml": "resources: [../../base]\n",
            "k8s/envs/prod/kustomization.yaml": "resources: [../../base]\n",
        },
    )
    proposal = propose(tmp_path, registry="ghcr.io")
    assert (proposal.overlay_root, proposal.overlays) == ("k8s/envs", ("prod", "qa"))
    assert (proposal.default_overlay, proposal.promotions) == ("qa", {"qa": "prod"})
    assert any("'Dev' is not a valid overlay name" in n for n in proposal.notes)
    data = tomllib.loads(render_toml(proposal))
    assert data["pipeline"]["promotions"] == {"qa": "prod"}


def test_no_dockerfile_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no Dockerfile"):
        propose(tmp_path, registry="127.0.0.1:5000")


def test_the_bookstore_proposal_is_its_hand_written_config() -> None:
    bookstore = PROJECT_ROOT / "examples" / "bookstore"
    proposal = propose(bookstore, registry="127.0.0.1:5000")
    config = load_pipeline_config(bookstore)
    assert [
        (s.name, s.context, s.dockerfile, s.image, s.repository) for s in proposal.services
    ] == [(s.name, s.context, s.dockerfile, s.image, s.repository) for s in config.services]
    assert (proposal.overlay_root, proposal.default_overlay, proposal.promotions) == (
        config.pipeline.overlay_root,
        config.pipeline.default_overlay,
        {},
    )
