from __future__ import annotations

import pytest

from seamline.errors import GateFailure
from seamline.policy.bump_precondition import ServiceOutcome, require_verified_digests

GOOD = "sha256:" + "ab" * 32


def _ok(name: str) -> ServiceOutcome:
    return ServiceOutcome(name, f"bookstore/{name}", f"127.0.0.1:5000/bookstore/{name}", GOOD)


def test_all_present() -> None:
    images = require_verified_digests([_ok("catalog"), _ok("orders")])
    assert images == {
        "bookstore/catalog": f"127.0.0.1:5000/bookstore/catalog@{GOOD}",
        "bookstore/orders": f"127.0.0.1:5000/bookstore/orders@{GOOD}",
    }


def test_refuses_a_missing_digest_and_names_it() -> None:
    failed = ServiceOutcome("orders", "bookstore/orders", "r/orders", None, "scan gate failed")
    with pytest.raises(GateFailure) as caught:
        require_verified_digests([_ok("catalog"), failed])
    assert "orders: no verified digest (scan gate failed)" in caught.value.message
    assert caught.value.exit_code == 1


@pytest.mark.parametrize("digest", ["", "sha256:", "sha256:XYZ", "latest", "sha256:" + "a" * 63])
def test_refuses_malformed_digests(digest: str) -> None:
    bad = ServiceOutcome("catalog", "bookstore/catalog", "r/catalog", digest)
    with pytest.raises(GateFailure, match="not a sha256 digest"):
        require_verified_digests([bad])


def test_refuses_nothing_to_bump() -> None:
    with pytest.raises(GateFailure, match="no services"):
        require_verified_digests([])
