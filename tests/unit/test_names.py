"""Names that come from outside: refs, overlay and service names, OCI names."""

from __future__ import annotations

import pytest

from seamline.errors import UsageError
from seamline.validate.names import check_image_name, check_name, check_ref, check_repository


@pytest.mark.parametrize(
    "ref",
    ["main", "feature/x", "release-1.2", "v1.0.0", "refs/heads/main", "0123abc", "a" * 40],
)
def test_good_refs(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "--orphan=x",
        "-b",
        "a..b",
        "x@{1}",
        "with space",
        "ends/",
        "ends.lock",
        ".hidden",
        "a/.b",
        "tilde~1",
        "caret^",
        "colon:x",
        "",
        "@",
        "back\\slash",
        "double//slash",
    ],
)
def test_bad_refs(ref: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_ref(ref)
    assert "commit id" in caught.value.hint


@pytest.mark.parametrize("name", ["../base", "/abs", "Dev", "-x", "a/b", "", "a" * 64])
def test_bad_names(name: str) -> None:
    with pytest.raises(UsageError, match="lowercase"):
        check_name(name, what="overlay")


def test_repository_and_image_grammar() -> None:
    assert check_repository("bookstore/payments-worker") == "bookstore/payments-worker"
    assert check_image_name("ghcr.io/acme/api") == "ghcr.io/acme/api"
    assert check_image_name("localhost:5000/acme/api") == "localhost:5000/acme/api"
    for bad in ("Acme/api", "acme/api:1", "acme/api@sha256:00", "acme/-api", "acme/"):
        with pytest.raises(UsageError):
            check_image_name(bad)
