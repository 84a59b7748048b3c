"""Delivery signatures: GitHub's prefixed header, Gitea/Forgejo's bare hex digest."""

from __future__ import annotations

import hashlib
import hmac

from seamline.webhook.signature import claimed_digest, sign, verify

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"


def test_sign_matches_githubs_documented_example() -> None:
    # The example in GitHub's "Validating webhook deliveries" documentation.
    assert sign(SECRET, BODY) == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_github_header_verifies() -> None:
    assert verify(SECRET, BODY, {"x-hub-signature-256": sign(SECRET, BODY)})


def test_gitea_and_forgejo_send_the_bare_digest() -> None:
    bare = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert verify(SECRET, BODY, {"x-gitea-signature": bare})
    assert verify(SECRET, BODY, {"x-forgejo-signature": bare.upper()})


def test_wrong_secret_body_or_missing_header_fail() -> None:
    good = sign(SECRET, BODY)
    assert not verify(b"another secret", BODY, {"x-hub-signature-256": good})
    assert not verify(SECRET, BODY + b" ", {"x-hub-signature-256": good})
    assert not verify(SECRET, BODY, {})
    assert not verify(b"", BODY, {"x-hub-signature-256": sign(b"", BODY)})


def test_github_header_needs_its_prefix() -> None:
    bare = sign(SECRET, BODY).removeprefix("sha256=")
    assert claimed_digest({"x-hub-signature-256": bare}) is None
    assert not verify(SECRET, BODY, {"x-hub-signature-256": bare})


def test_the_github_header_wins_over_giteas() -> None:
    # Gitea sends both; a wrong prefixed header is not rescued by a right bare one.
    bare = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    headers = {"x-hub-signature-256": "sha256=" + "0" * 64, "x-gitea-signature": bare}
    assert not verify(SECRET, BODY, headers)


def test_non_ascii_claims_fail_without_raising() -> None:
    assert not verify(SECRET, BODY, {"x-gitea-signature": "é" * 64})
