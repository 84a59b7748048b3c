"""The build-test gate's reading of the real tools, on the host: golangci-lint the way the
sandbox runs it (``lint_argv``: the module at <root>/<folder>, no .git, the patch git made
on the host) and `go test -json`. No Docker: the sandbox itself is covered by the stack's
tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

from seamline.adapters.git_repo import folder_diff, fork_point
from seamline.adapters.go_toolchain import (
    GO_ENV,
    count_test_events,
    lint_argv,
    parse_lint_json,
    patch_paths,
)
from seamline.config.settings import Settings
from seamline.policy.source_checks import SourceChecksPolicy, judge, lint_check
from seamline.tools.pins import locate
from seamline.tools.process import run

GO_ENV_HOST = {**GO_ENV, "GOPROXY": "off", "GOFLAGS": "-buildvcs=false"}
LINT_CONFIG = 'version: "2"\nlinters:\n  default: none\n  enable: [errcheck, unconvert]\n'
OLD_DEBT = """package price

import "os"

// Total sums the prices.
func Total(prices []int) int {
	sum := 0
	for _, p := range prices {
		sum += p
	}
	os.Setenv("SHOP_TOTAL", "1")
	return int(sum)
}
"""
CLEAN_ADDITION = """package price

// Count counts the prices.
func Count(prices []int) int { return len(prices) }
"""
NEW_DEBT = """package price

import "os"

// Discount takes ten percent off.
func Discount(total int) int {
	os.Unsetenv("SHOP_DISCOUNT")
	return total * 9 / 10
}
"""


def _commit(repo: git.Repo, files: dict[str, str], message: str) -> str:
    root = Path(str(repo.working_dir))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    repo.git.add(A=True)
    return str(repo.index.commit(message).hexsha)


@pytest.fixture
def shop(tmp_path: Path) -> tuple[git.Repo, str]:
    """A repository whose service ``shop`` has lint debt at its baseline commit."""
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "t").set_value("user", "email", "t@example.test")
    base = _commit(
        repo,
        {
            ".golangci.yml": LINT_CONFIG,
            "shop/go.mod": "module example.test/shop\n\ngo 1.22\n",
            "shop/price/price.go": OLD_DEBT,
        },
        "shop with lint debt",
    )
    return repo, base


def _gate(repo: git.Repo, base: str, tmp_path: Path) -> tuple[bool, tuple[str, ...], str]:
    """golangci-lint on everything and on what changed since ``base``, judged the way the
    build-test stage judges: (passed, blocking, reported)."""
    head = str(repo.head.commit.hexsha)
    checkout = Path(str(repo.working_dir))
    patch_text = folder_diff(checkout, base, head, "shop")
    assert patch_text is not None
    # The sandbox's view: the module folder and the config, no .git, the patch beside.
    root = tmp_path / "src"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(checkout / "shop", root / "shop")
    shutil.copy(checkout / ".golangci.yml", root / ".golangci.yml")
    patch = tmp_path / "lint-baseline.patch"
    patch.write_text(patch_text)
    lint = str(locate("golangci-lint", Settings().tools_dir))
    reports = {}
    for name, new_from in (("lint", None), ("lint-new", str(patch))):
        argv = lint_argv(
            config=str(root / ".golangci.yml"),
            json_path=str(tmp_path / f"{name}.json"),
            new_from_patch=new_from,
        )
        done = run([lint, *argv[1:]], cwd=root / "shop", env=GO_ENV_HOST, check=False)
        assert done.returncode in (0, 1), done.stderr
        reports[name] = parse_lint_json((tmp_path / f"{name}.json").read_text(), root=str(root))
    for finding in reports["lint-new"]:  # the diff's paths and lint's paths line up
        assert finding.path.removeprefix("shop/") in patch_paths(patch_text)
    check = lint_check(
        findings=reports["lint"], new_findings=reports["lint-new"], baseline=base, new_only=True
    )
    verdict = judge(SourceChecksPolicy(lint_new_only=True), [check])
    return verdict.passed, verdict.blocking, "\n".join(verdict.reported)


def test_old_findings_do_not_block_new_only_mode(
    shop: tuple[git.Repo, str], tmp_path: Path
) -> None:
    repo, base = shop
    _commit(repo, {"shop/price/count.go": CLEAN_ADDITION}, "a clean change")
    passed, blocking, reported = _gate(repo, base, tmp_path)
    assert passed, blocking
    assert "2 finding(s) older than" in reported
    assert "shop/price/price.go:11" in reported  # the debt is still shown


def test_a_new_finding_blocks_new_only_mode(shop: tuple[git.Repo, str], tmp_path: Path) -> None:
    repo, base = shop
    _commit(repo, {"shop/price/discount.go": NEW_DEBT}, "new debt")
    passed, blocking, _ = _gate(repo, base, tmp_path)
    assert not passed
    (message,) = blocking
    assert "new since" in message and "1 finding(s) (errcheck 1)" in message
    assert "shop/price/discount.go:7" in message and "price.go" not in message


def test_a_finding_added_to_an_old_file_blocks(shop: tuple[git.Repo, str], tmp_path: Path) -> None:
    repo, base = shop
    grown = OLD_DEBT + "\n// Again totals nothing.\nfunc Again() int { return int(Total(nil)) }\n"
    _commit(repo, {"shop/price/price.go": grown}, "new debt in an old file")
    passed, blocking, _ = _gate(repo, base, tmp_path)
    assert not passed and "shop/price/price.go:16" in blocking[0], blocking


def test_a_commit_the_history_lacks_gives_no_diff(
    shop: tuple[git.Repo, str], tmp_path: Path
) -> None:
    repo, _ = shop
    clone = git.Repo.clone_from(str(repo.working_dir), tmp_path / "clone")
    head = str(clone.head.commit.hexsha)
    assert folder_diff(tmp_path / "clone", "f" * 40, head, "shop") is None


def test_a_branch_is_compared_from_where_it_left_the_default_branch(
    shop: tuple[git.Repo, str], tmp_path: Path
) -> None:
    repo, base = shop
    repo.git.checkout("-b", "feature")
    feature = _commit(repo, {"shop/price/discount.go": NEW_DEBT}, "feature work")
    repo.git.checkout("main")
    _commit(repo, {"shop/price/count.go": CLEAN_ADDITION}, "main moves on")
    clone = git.Repo.clone_from(str(repo.working_dir), tmp_path / "clone")
    clone.git.checkout("--detach", feature)
    checkout = tmp_path / "clone"
    assert fork_point(checkout, feature) == base
    assert fork_point(checkout, str(clone.commit("origin/main").hexsha)) is None
    patch = folder_diff(checkout, base, feature, "shop")
    assert patch is not None and patch_paths(patch) == {"price/discount.go"}


def _go_test(module: Path) -> str:
    go = str(locate("go", Settings().tools_dir))
    done = run([go, "test", "-json", "-count=1", "./..."], cwd=module, env=GO_ENV_HOST, check=False)
    assert done.returncode == 1, done.stderr
    return done.stdout


def _module(folder: Path, files: dict[str, str]) -> Path:
    (folder / "go.mod").parent.mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text("module example.test/gt\n\ngo 1.22\n")
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_a_failing_test_is_named(tmp_path: Path) -> None:
    module = _module(
        tmp_path / "m",
        {
            "calc/calc.go": "package calc\n\nfunc Add(a, b int) int { return a - b }\n",
            "calc/calc_test.go": 'package calc\n\nimport "testing"\n\n'
            "func TestAdd(t *testing.T) {\n"
            '\tif Add(1, 2) != 3 {\n\t\tt.Fatalf("Add(1, 2) = %d", Add(1, 2))\n\t}\n}\n\n'
            "func TestFine(t *testing.T) {}\n",
        },
    )
    counts = count_test_events(_go_test(module))
    assert (counts.passed, counts.failed) == (1, 1)
    assert counts.failures == ("example.test/gt/calc.TestAdd: calc_test.go:7: Add(1, 2) = -1",)
    assert "TestAdd" in counts.explain()


def test_a_package_that_does_not_build_is_named(tmp_path: Path) -> None:
    module = _module(
        tmp_path / "m",
        {
            "ok/ok_test.go": 'package ok\n\nimport "testing"\n\nfunc TestOK(t *testing.T) {}\n',
            "broken/broken.go": "package broken\n\nfunc Name() string { return 7 }\n",
            "broken/broken_test.go": 'package broken\n\nimport "testing"\n\n'
            "func TestName(t *testing.T) { _ = Name() }\n",
        },
    )
    counts = count_test_events(_go_test(module))
    assert counts.failed == 0 and counts.passed == 1
    (broken,) = counts.build_failures
    assert broken.startswith("example.test/gt/broken: broken/broken.go:3:")
    assert "package(s) failed to build" in counts.explain()
