"""`seamline init`'s discovery: one service per Dockerfile, built from the nearest Go
module at or above it inside the repository, named by a sanitized folder name."""

from __future__ import annotations

from pathlib import Path

import pytest

from seamline.config.settings import PROJECT_ROOT
from seamline.onboard.discover import discover_services, sanitize

WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild-repo"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_wild_repo_has_four_services_with_their_own_modules() -> None:
    found = {s.name: s for s in discover_services(WILD)}
    assert sorted(found) == ["cart", "checkout", "email-sender", "inventory"]
    assert (found["cart"].context, found["cart"].dockerfile) == ("services/cart", "Dockerfile")
    assert found["cart"].module == "github.com/acme/shop/services/cart"
    # The Dockerfile in build/ is built from its module's root, and named for the module.
    inventory = found["inventory"]
    assert (inventory.context, inventory.dockerfile) == ("services/inventory", "build/Dockerfile")
    assert found["email-sender"].context == "workers/email_sender"
    assert found["email-sender"].notes == (
        "name 'email-sender' sanitized from the folder name 'email_sender'",
    )


def test_dockerfiles_of_one_module_are_named_by_their_folders(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/mono\n",
            "cmd/api/Dockerfile": "FROM scratch\n",
            "cmd/Worker_Pool/Dockerfile": "FROM scratch\n",
            "vendor/example.com/x/Dockerfile": "FROM scratch\n",
            ".github/Dockerfile": "FROM scratch\n",
        },
    )
    found = discover_services(tmp_path)
    assert [(s.name, s.context, s.dockerfile) for s in found] == [
        ("worker-pool", ".", "cmd/Worker_Pool/Dockerfile"),
        ("api", ".", "cmd/api/Dockerfile"),
    ]
    assert found[1].candidates == ("api", "mono")


def test_no_go_mod_outside_the_repository_counts(tmp_path: Path) -> None:
    _write(tmp_path, {"go.mod": "module outside\n", "repo/tools/Dockerfile": "FROM scratch\n"})
    (service,) = discover_services(tmp_path / "repo")
    assert (service.name, service.context, service.module) == ("tools", "tools", "")
    assert "no go.mod" in service.notes[0]


def test_repeated_names_are_numbered_and_said(tmp_path: Path) -> None:
    _write(tmp_path, {"a/api/Dockerfile": "FROM scratch\n", "b/api/Dockerfile": "FROM scratch\n"})
    names = [(s.name, s.notes) for s in discover_services(tmp_path)]
    assert names[0] == ("api", ("no go.mod at or above its Dockerfile: the context is its folder",))
    assert names[1][0] == "api-2" and "'api' is taken" in names[1][1][-1]


@pytest.mark.parametrize(
    ("raw", "name"),
    [("email_sender", "email-sender"), ("API.Gateway", "api-gateway"), ("--x--", "x"), ("__", "")],
)
def test_sanitize(raw: str, name: str) -> None:
    assert sanitize(raw) == name
