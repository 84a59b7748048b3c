"""Untrusted runs take which checks block, how lint findings count and the lint config
from the default branch: a pull request cannot relax its own gate through its
seamline.toml or its lint config file."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from seamline.config.check_rules import (
    default_branch_table,
    use_default_branch_lint_files,
    with_default_branch_checks,
)
from seamline.config.pipeline import CONFIG_NAME, PipelineConfig, load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError

BOOKSTORE = PROJECT_ROOT / "examples" / "bookstore"
STRICT_LINT = "linters:\n  default: standard\n"


class DefaultBranch:
    """The default branch ``main`` as a dictionary of its files' text."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.asked: list[str] = []

    def __call__(self, path: str) -> tuple[str, str | None]:
        self.asked.append(path)
        return "main", self.files.get(path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(BOOKSTORE, target)
    return target


def _relaxed(repo: Path) -> PipelineConfig:
    """What a pull request's seamline.toml says: nothing blocks but build, only new
    findings count, and its own lint config."""
    path = repo / CONFIG_NAME
    text = path.read_text().replace(
        'lint_config = ".golangci.yml"',
        'lint_config = "relaxed.yml"\nblocking_checks = []\nlint_new_findings_only = true',
    )
    text = text.replace(
        'repository = "bookstore/orders"     # repository in the target registry',
        'repository = "bookstore/orders"\nblocking_checks = []\nlint_config = "orders.yml"',
    )
    path.write_text(text)
    (repo / "relaxed.yml").write_text("linters:\n  default: none\n")
    (repo / "orders.yml").write_text("linters:\n  default: none\n")
    return load_pipeline_config(repo)


def test_the_default_branch_s_check_settings_replace_the_commit_s(repo: Path) -> None:
    config = _relaxed(repo)
    catalog, orders = config.services[0], config.services[1]
    assert config.checks_policy(orders).blocking == frozenset()
    assert config.checks_policy(catalog).lint_new_only is True

    main = (
        (BOOKSTORE / CONFIG_NAME)
        .read_text()
        .replace(
            'lint_config = ".golangci.yml"',
            'lint_config = ".golangci.yml"\nblocking_checks = ["vet"]',
        )
    )
    rules = with_default_branch_checks(config, tomllib.loads(main), head="main")
    ruled = rules.config
    for service in ruled.services:
        policy = ruled.checks_policy(service)
        assert policy.blocking == frozenset({"vet"}) and policy.lint_new_only is False
        assert service.lint_config is None  # the default branch sets none per service
    assert ruled.pipeline.lint_config == ".golangci.yml"
    assert "default branch main" in rules.source
    # Everything else is the commit's own.
    assert ruled.pipeline.base_images == config.pipeline.base_images
    assert [s.context for s in ruled.services] == [s.context for s in config.services]


def test_without_a_seamline_toml_on_the_default_branch_every_check_blocks(repo: Path) -> None:
    config = _relaxed(repo)
    head, table = default_branch_table(DefaultBranch({}))
    assert (head, table) == ("main", None)
    rules = with_default_branch_checks(config, table, head=head)
    for service in rules.config.services:
        policy = rules.config.checks_policy(service)
        assert policy.blocking == frozenset({"vet", "lint", "test"})
        assert policy.lint_new_only is False
        assert rules.config.lint_config_path(service) is None
    assert "has no seamline.toml" in rules.source and "every check blocks" in rules.source


def test_a_bad_check_setting_on_the_default_branch_is_a_usage_error(repo: Path) -> None:
    config = load_pipeline_config(repo)
    with pytest.raises(UsageError, match="on the default branch main"):
        with_default_branch_checks(
            config, {"pipeline": {"blocking_checks": ["build"]}}, head="main"
        )
    with pytest.raises(UsageError, match="not valid TOML"):
        default_branch_table(DefaultBranch({CONFIG_NAME: "[pipeline"}))


def test_the_lint_config_s_text_is_the_default_branch_s(repo: Path) -> None:
    (repo / ".golangci.yml").write_text("linters:\n  default: none\n")  # relaxed by the PR
    config = load_pipeline_config(repo)
    main = DefaultBranch({".golangci.yml": STRICT_LINT})
    rules = with_default_branch_checks(
        config, {"pipeline": {"lint_config": ".golangci.yml"}}, head="main"
    )
    ruled = use_default_branch_lint_files(rules, main).config
    assert (repo / ".golangci.yml").read_text() == STRICT_LINT
    assert ruled.lint_config_path(ruled.services[0]) == (repo / ".golangci.yml").resolve()
    assert main.asked == [".golangci.yml"]


def test_a_lint_config_the_default_branch_lacks_is_not_used(repo: Path) -> None:
    config = load_pipeline_config(repo)
    rules = with_default_branch_checks(
        config, {"pipeline": {"lint_config": ".golangci.yml"}}, head="main"
    )
    ruled = use_default_branch_lint_files(rules, DefaultBranch({})).config
    assert ruled.pipeline.lint_config is None
    assert all(ruled.lint_config_path(s) is None for s in ruled.services)


def test_a_symlink_at_the_lint_config_s_place_is_replaced_not_followed(
    repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (repo / ".golangci.yml").unlink()
    (repo / ".golangci.yml").symlink_to(outside)
    config = PipelineConfig.model_validate(
        {**load_pipeline_config(BOOKSTORE).model_dump(), "root": repo}
    )
    rules = with_default_branch_checks(
        config, {"pipeline": {"lint_config": ".golangci.yml"}}, head="main"
    )
    use_default_branch_lint_files(rules, DefaultBranch({".golangci.yml": STRICT_LINT}))
    assert outside.read_text() == "keep me"
    lint = repo / ".golangci.yml"
    assert not lint.is_symlink() and lint.read_text() == STRICT_LINT


def test_a_lint_config_outside_the_repository_is_refused(repo: Path) -> None:
    config = load_pipeline_config(repo)
    rules = with_default_branch_checks(
        config, {"pipeline": {"lint_config": "../../evil.yml"}}, head="main"
    )
    with pytest.raises(UsageError, match="outside the repository"):
        use_default_branch_lint_files(rules, DefaultBranch({"../../evil.yml": STRICT_LINT}))
    assert not (repo.parent.parent / "evil.yml").exists()
