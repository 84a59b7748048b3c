"""Image references: every part read from one parser, odd and hostile input refused."""

from __future__ import annotations

import pytest

from seamline.errors import UsageError
from seamline.validate.image_ref import ImageRef

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("127.0.0.1:5000/seamline/trivy-db:2", "127.0.0.1:5000", "seamline/trivy-db", "2", None),
        ("127.0.0.1:5000/bookstore/catalog", "127.0.0.1:5000", "bookstore/catalog", None, None),
        (f"localhost:5000/app@{DIGEST}", "localhost:5000", "app", None, DIGEST),
        (f"ghcr.io/org/app:v1.2@{DIGEST}", "ghcr.io", "org/app", "v1.2", DIGEST),
        ("localhost/app:latest", "localhost", "app", "latest", None),
        ("alpine", "", "alpine", None, None),
        ("library/alpine:3.20", "", "library/alpine", "3.20", None),
        ("docker.io/library/alpine:3", "docker.io", "library/alpine", "3", None),
        (
            "gcr.io/distroless/static-debian12:nonroot",
            "gcr.io",
            "distroless/static-debian12",
            "nonroot",
            None,
        ),
        ("REGISTRY.example:443/app:Tag_1", "REGISTRY.example:443", "app", "Tag_1", None),
    ],
)
def test_parts(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert str(ref) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        (" 127.0.0.1:5000/app:1", "whitespace"),
        ("127.0.0.1:5000/app:1 ", "whitespace"),
        ("127.0.0.1:5000/my app:1", "whitespace"),
        ("127.0.0.1:5000/App:1", "not valid"),
        ("Bookstore/catalog", "not valid"),
        ("127.0.0.1:5000/app:", "tag ''"),
        ("127.0.0.1:5000/app:-x", "tag '-x'"),
        ("127.0.0.1:5000/app:" + "t" * 129, "tag"),
        ("127.0.0.1:5000/app@sha256:abc", "digest 'sha256:abc'"),
        ("127.0.0.1:5000/app@" + DIGEST.upper(), "digest"),
        (f"127.0.0.1:5000/app@{DIGEST}@{DIGEST}", "digest"),
        (f"@{DIGEST}", "repository is missing"),
        ("https://127.0.0.1:5000/app:1", "scheme"),
        ("127.0.0.1:99999999/app", "not a registry host"),
        ("127.0.0.1:5000/../app", "not valid"),
        ("127.0.0.1:5000//app", "not valid"),
        ("-bad.example/app", "not a registry host"),
    ],
)
def test_malformed_references_are_usage_errors_that_name_them(text: str, why: str) -> None:
    with pytest.raises(UsageError) as caught:
        ImageRef.parse(text)
    assert why in caught.value.message
    assert repr(text) in caught.value.message
    assert caught.value.exit_code == 2
    assert "repository" in caught.value.hint


def test_port_colon_is_not_a_tag() -> None:
    ref = ImageRef.parse("127.0.0.1:5000/app")
    assert ref.tag is None
    assert ref.tag_or_latest == "latest"
    assert ref.manifest_reference == "latest"
    assert ref.name == "127.0.0.1:5000/app"


def test_digest_wins_as_manifest_reference() -> None:
    assert ImageRef.parse(f"127.0.0.1:5000/app:1@{DIGEST}").manifest_reference == DIGEST
    assert ImageRef.parse("127.0.0.1:5000/app:1").manifest_reference == "1"


def test_with_digest_and_by_digest() -> None:
    tagged = ImageRef.parse("127.0.0.1:5000/bookstore/catalog:abc123")
    pinned = tagged.with_digest(DIGEST)
    assert str(pinned) == f"127.0.0.1:5000/bookstore/catalog:abc123@{DIGEST}"
    assert pinned.by_digest() == f"127.0.0.1:5000/bookstore/catalog@{DIGEST}"
    assert ImageRef.parse(pinned.by_digest()) == ImageRef(
        registry="127.0.0.1:5000", repository="bookstore/catalog", digest=DIGEST
    )
    with pytest.raises(UsageError, match="not pinned by digest"):
        tagged.by_digest()
    with pytest.raises(UsageError, match="digest 'latest'"):
        tagged.with_digest("latest")


def test_repository_in_checks_the_registry() -> None:
    ref = ImageRef.parse("127.0.0.1:5000/seamline/trivy-db:2")
    assert ref.repository_in("127.0.0.1:5000") == "seamline/trivy-db"
    with pytest.raises(UsageError, match=r"not in the registry 127\.0\.0\.1:5000"):
        ImageRef.parse("mirror.gcr.io/aquasec/trivy-db:2").repository_in("127.0.0.1:5000")
    with pytest.raises(UsageError, match="not in the registry"):
        ImageRef.parse("127.0.0.1:5001/app:1").repository_in("127.0.0.1:5000")


@pytest.mark.parametrize(
    "name",
    [
        "alpine",
        "library/alpine:3.20",
        "127.0.0.1:5000/seamline/trivy-db:2",
        "127.0.0.1:5000/bookstore/catalog",
        "localhost/app:latest",
        "localhost:5000/app",
        "ghcr.io/org/app:v1.2",
        "user/app",
        "user:pass/app",
        "a:b:c",
        ":tag",
        "registry.example/",
    ],
)
def test_split_matches_the_docker_sdk(name: str) -> None:
    """Our split is the Docker SDK's, without importing it on every start-up."""
    from docker.auth import INDEX_NAME, split_repo_name
    from docker.utils import parse_repository_tag

    from seamline.validate.image_ref import INDEX_NAME as OURS
    from seamline.validate.image_ref import split_registry, split_tag

    assert OURS == INDEX_NAME
    assert split_tag(name) == parse_repository_tag(name)
    assert split_registry(name) == split_repo_name(name)
