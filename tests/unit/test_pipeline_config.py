from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError
from seamline.policy.allowlist import AllowList

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
    with pytest.raises(UsageError, match=r"services\.orders\.dockerfile"):
        load_pipeline_config(repo)


def test_duplicate_and_bad_fields(repo: Path) -> None:
    text = (repo / "seamline.toml").read_text()
    (repo / "seamline.toml").write_text(text.replace('name = "orders"', 'name = "catalog"'))
    with pytest.raises(UsageError, match="repeat: catalog"):
        load_pipeline_config(repo)
    (repo / "seamline.toml").write_text(text.replace('name = "orders"', 'name = "Orders!"'))
    with pytest.raises(UsageError, match=r"services\.1\.name"):
        load_pipeline_config(repo)


def _set(repo: Path, old: str, new: str) -> None:
    path = repo / "seamline.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('context = "app/catalog"', 'context = "../../secrets"', "services.catalog.context"),
        ('context = "app/catalog"', 'context = "/etc"', "services.catalog.context"),
        (
            'dockerfile = "Dockerfile"',
            'dockerfile = "../../../../etc/hostname"',
            "services.catalog.dockerfile",
        ),
        ('lint_config = ".golangci.yml"', 'lint_config = "../x.yml"', "pipeline.lint_config"),
        (
            'overlay_root = "kustomize/overlays"',
            'overlay_root = "../gitops"',
            "pipeline.overlay_root",
        ),
    ],
)
def test_paths_that_leave_the_repository_are_refused(
    repo: Path, old: str, new: str, named: str
) -> None:
    _set(repo, old, new)
    with pytest.raises(UsageError) as caught:
        load_pipeline_config(repo)
    assert named in caught.value.message
    assert "stay inside" in caught.value.hint


def test_symlinks_out_of_the_repository_are_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secrets"
    outside.mkdir()
    (outside / "cosign.password").write_text("hunter2")
    (outside / "Dockerfile").write_text("FROM scratch\n")
    (repo / "app" / "sneaky").symlink_to(outside)
    _set(repo, 'context = "app/catalog"', 'context = "app/sneaky"')
    with pytest.raises(UsageError, match=r"services\.catalog\.context.*leads outside"):
        load_pipeline_config(repo)


def test_allowlist_symlinked_to_a_secret_is_refused_without_reading_it(
    repo: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "cosign.password"
    secret.write_text("hunter2-do-not-print")
    (repo / "allow.toml").symlink_to(secret)
    _set(
        repo,
        'lint_config = ".golangci.yml"',
        'lint_config = ".golangci.yml"\nallowlist = "allow.toml"',
    )
    with pytest.raises(UsageError) as caught:
        load_pipeline_config(repo)
    assert "pipeline.allowlist" in caught.value.message
    assert "hunter2" not in caught.value.diagnostics()


def test_config_file_symlinked_out_is_refused(repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other.toml"
    (repo / "seamline.toml").rename(elsewhere)
    (repo / "seamline.toml").symlink_to(elsewhere)
    with pytest.raises(UsageError, match="leads outside"):
        load_pipeline_config(repo)


def test_symlink_inside_the_repository_is_fine(repo: Path) -> None:
    (repo / "app" / "catalog-link").symlink_to(repo / "app" / "catalog")
    _set(repo, 'context = "app/catalog"', 'context = "app/catalog-link"')
    config = load_pipeline_config(repo)
    assert config.context_of(config.services[0]) == (repo / "app" / "catalog").resolve()


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('repository = "bookstore/catalog"', 'repository = "Bookstore/Catalog"', "repository"),
        ('repository = "bookstore/catalog"', 'repository = "bookstore//catalog"', "repository"),
        ('image = "bookstore/catalog"', 'image = "bookstore/catalog:1.0"', "image"),
        ('registry = "127.0.0.1:5000"', 'registry = "http://127.0.0.1:5000"', "registry"),
        ('default_overlay = "dev"', 'default_overlay = "../base"', "overlay"),
    ],
)
def test_names_follow_their_grammar(repo: Path, old: str, new: str, named: str) -> None:
    _set(repo, old, new)
    with pytest.raises(UsageError, match=named):
        load_pipeline_config(repo)


def test_branch_overlays_decide_what_a_push_may_bump(repo: Path) -> None:
    config = load_pipeline_config(repo)
    assert config.pipeline.overlay_for_branch("main") == "dev"
    assert config.pipeline.overlay_for_branch("feature") is None
    assert config.pipeline.overlay_for_branch(None) is None
    _set(repo, "[[services]]", '[pipeline.branch_overlays]\nrelease = "staging"\n\n[[services]]')
    mapped = load_pipeline_config(repo)
    assert mapped.pipeline.overlay_for_branch("release") == "staging"
    assert mapped.pipeline.overlay_for_branch("main") is None


def test_overlay_names_cannot_climb(repo: Path) -> None:
    config = load_pipeline_config(repo)
    with pytest.raises(UsageError, match="not a valid name"):
        config.overlay("../base")


def test_promotions_default_to_dev_staging_prod_and_follow_seamline_toml(repo: Path) -> None:
    _set(repo, 'promotions = { dev = "staging", staging = "prod" }\n', "")
    config = load_pipeline_config(repo)
    assert config.promotions() == {"dev": "staging", "staging": "prod"}
    _set(
        repo,
        'lint_config = ".golangci.yml"',
        'lint_config = ".golangci.yml"\npromotions = { dev = "prod" }',
    )
    config = load_pipeline_config(repo)
    config.check_promotion("dev", "prod")
    with pytest.raises(UsageError, match=r"dev -> staging is not allowed \(allowed: dev -> prod\)"):
        config.check_promotion("dev", "staging")


@pytest.mark.parametrize(
    ("promotions", "error"),
    [
        ('{ dev = "Staging!" }', r"pipeline\.promotions: .*not a valid name"),
        ('{ dev = "dev" }', "dev is promoted into itself"),
    ],
)
def test_a_bad_promotion_is_a_usage_error(repo: Path, promotions: str, error: str) -> None:
    _set(repo, '{ dev = "staging", staging = "prod" }', promotions)
    with pytest.raises(UsageError, match=error):
        load_pipeline_config(repo)


def test_an_overlay_gate_overrides_the_settings_gate_key_by_key(repo: Path) -> None:
    config = load_pipeline_config(repo)
    prod = config.gate_for(
        "prod", severities="CRITICAL", ignore_unfixed=True, allowlist=AllowList.empty()
    )
    assert prod.severities == {"MEDIUM", "HIGH", "CRITICAL"} and prod.ignore_unfixed is False
    staging = config.gate_for(
        "staging", severities="CRITICAL", ignore_unfixed=True, allowlist=AllowList.empty()
    )
    assert staging.severities == {"CRITICAL"} and staging.ignore_unfixed is True


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ('gate_severities = ["SEVERE"]', r"overlays\.prod\.gate_severities: .*unknown severity"),
        ("gate = true", r"overlays\.prod\.gate: Extra inputs"),
    ],
)
def test_a_bad_overlay_table_is_a_usage_error(repo: Path, table: str, error: str) -> None:
    _set(repo, 'gate_severities = ["MEDIUM", "HIGH", "CRITICAL"]', table)
    with pytest.raises(UsageError, match=error):
        load_pipeline_config(repo)


def test_checks_default_to_every_check_blocking_and_all_findings(repo: Path) -> None:
    config = load_pipeline_config(repo)
    catalog = config.services[0]
    policy = config.checks_policy(catalog)
    assert policy.blocking == {"vet", "lint", "test"} and not policy.lint_new_only
    assert config.lint_config_path(catalog) == repo.resolve() / ".golangci.yml"


def test_a_service_overrides_the_repositorys_checks(repo: Path) -> None:
    shutil.copy(repo / ".golangci.yml", repo / "app" / "orders" / "lint.yml")
    _set(
        repo,
        'lint_config = ".golangci.yml"',
        'lint_config = ".golangci.yml"\nblocking_checks = ["test"]\nlint_new_findings_only = true',
    )
    _set(
        repo,
        'image = "bookstore/orders"',
        'image = "bookstore/orders"\nlint_config = "app/orders/lint.yml"\n'
        'blocking_checks = ["vet", "lint"]\nlint_new_findings_only = false',
    )
    config = load_pipeline_config(repo)
    catalog, orders = config.services[:2]
    assert config.checks_policy(catalog).blocking == {"test"}
    assert config.checks_policy(catalog).lint_new_only
    assert config.checks_policy(orders).blocking == {"vet", "lint"}
    assert not config.checks_policy(orders).lint_new_only
    assert config.lint_config_path(orders) == repo.resolve() / "app" / "orders" / "lint.yml"
    assert config.lint_config_path(catalog) == repo.resolve() / ".golangci.yml"


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('lint_config = ".golangci.yml"', 'blocking_checks = ["build"]', "blocking_checks"),
        ('lint_config = ".golangci.yml"', "lint_new_findings_only = 3", "lint_new_findings_only"),
        (
            'image = "bookstore/orders"',
            'image = "bookstore/orders"\nlint_config = "../../x.yml"',
            "services.orders.lint_config",
        ),
        (
            'image = "bookstore/orders"',
            'image = "bookstore/orders"\nlint_config = "missing.yml"',
            "services.orders.lint_config",
        ),
    ],
)
def test_bad_check_settings_are_named(repo: Path, old: str, new: str, named: str) -> None:
    _set(repo, old, new)
    with pytest.raises(UsageError, match=named.replace(".", r"\.")):
        load_pipeline_config(repo)


def test_overlay_folders_are_those_with_a_kustomization(repo: Path) -> None:
    (repo / "kustomize" / "overlays" / "notes").mkdir()
    config = load_pipeline_config(repo)
    assert list(config.overlay_folders(repo)) == ["dev", "prod", "staging"]
    assert config.overlay_folders(repo)["prod"] == repo.resolve() / "kustomize/overlays/prod"


def test_base_images_map_upstream_references_to_mirrors(repo: Path) -> None:
    config = load_pipeline_config(repo)
    mapping = config.pipeline.base_image_map()
    assert mapping.mirror_for("golang:1.26.5-alpine@sha256:" + "a" * 64) == (
        "127.0.0.1:5000/mirror/golang:1.26-alpine"
    )
    assert mapping.mirror_for("gcr.io/distroless/static-debian12:nonroot") == (
        "127.0.0.1:5000/mirror/distroless/static-debian12:nonroot"
    )


def test_a_base_image_key_that_is_no_reference_is_a_usage_error(repo: Path) -> None:
    _set(repo, '"golang" = ', '"golang:" = ')
    with pytest.raises(UsageError, match=r"pipeline\.base_images: .*'golang:' is not valid"):
        load_pipeline_config(repo)
