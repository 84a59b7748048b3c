"""`seamline init`'s proposal: services matched to the images the kustomize tree deploys
(host and tag in base manifests, images declared by components), the overlays and their
guesses; the seamline.toml it writes loads as the pipeline's config."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from seamline.bases.rewrite import build_copy
from seamline.bases.stand_ins import default_mapping
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError
from seamline.onboard.bases import propose_bases
from seamline.onboard.discover import DiscoveredService
from seamline.onboard.kustomize_tree import read_tree
from seamline.onboard.proposal import match_services, propose
from seamline.onboard.toml_text import render_toml
from tasks.preflight import build_copies, classic_builder_problems

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


STAND_INS = default_mapping("127.0.0.1:5000", "1.26.8")


def test_init_maps_the_wild_repo_s_upstream_bases_to_the_stack_s_stand_ins(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(WILD, repo)
    proposal = propose(repo, registry="127.0.0.1:5000", stand_ins=STAND_INS)
    assert proposal.bases.mapped == {
        "golang": "127.0.0.1:5000/mirror/golang:1.26-alpine",
        "gcr.io/distroless/static": "127.0.0.1:5000/mirror/distroless/static:nonroot",
    }
    assert proposal.bases.unmapped == ()
    (repo / "seamline.toml").write_text(render_toml(proposal))
    config = load_pipeline_config(repo)
    mapping = config.pipeline.base_image_map()
    for service in config.services:  # every FROM of every service built from the mirror
        text = config.dockerfile_of(service).read_text()
        copy = build_copy(text, mapping=mapping, build_args={}, platform_args={})
        assert copy.unmapped == () and len(copy.substitutions) == 2
    assert "# lint_new_findings_only = true" in (repo / "seamline.toml").read_text()
    assert config.pipeline.lint_new_findings_only is False  # written for review, not set


def test_bases_no_stand_in_serves_are_written_as_commented_lines(tmp_path: Path) -> None:
    dockerfile = "FROM node:22 AS web\nFROM golang:1.25\nFROM gcr.io/distroless/base:nonroot\n"
    proposed = propose_bases([dockerfile], STAND_INS)
    assert proposed.mapped == {"golang": "127.0.0.1:5000/mirror/golang:1.26-alpine"}
    assert proposed.unmapped == ("gcr.io/distroless/base:nonroot", "node:22")
    repo = _write(tmp_path, {"Dockerfile": dockerfile})
    text = render_toml(propose(repo, registry="127.0.0.1:5000", stand_ins=STAND_INS))
    assert '# "node:22" = "127.0.0.1:5000/mirror/node:22"' in text
    assert '"golang" = "127.0.0.1:5000/mirror/golang:1.26-alpine"' in text
    assert tomllib.loads(text)["pipeline"]["base_images"] == proposed.mapped


def test_without_the_go_toolchain_every_base_is_left_for_review(tmp_path: Path) -> None:
    repo = _write(tmp_path, {"Dockerfile": "FROM golang:1.26\n"})
    text = render_toml(propose(repo, registry="127.0.0.1:5000"))
    assert "the Go toolchain was not found" in text
    assert '# "golang:1.26" = "127.0.0.1:5000/mirror/golang:1.26"' in text
    assert tomllib.loads(text)["pipeline"]["base_images"] == {}


def test_the_classic_builder_is_told_which_wild_repo_lines_only_buildkit_builds(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(WILD, repo)
    (repo / "seamline.toml").write_text(
        render_toml(propose(repo, registry="127.0.0.1:5000", stand_ins=STAND_INS))
    )
    config = load_pipeline_config(repo)
    assert classic_builder_problems(config, build_copies(config, {})) == [
        "checkout: Dockerfile line 1: # syntax=docker/dockerfile:1",
        "checkout: Dockerfile line 7: RUN --mount=type=cache",
        "checkout: Dockerfile line 9: RUN --mount=type=cache",
    ]
    buildkit = build_copies(config, {}, buildkit=True)["checkout"]
    assert buildkit.dropped == ("# syntax=docker/dockerfile:1",)
    assert buildkit.text.splitlines()[0] == ""
