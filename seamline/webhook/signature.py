"""HMAC-SHA256 signatures of webhook deliveries, checked in constant time.

GitHub (and Gitea, Forgejo beside their own header) send ``X-Hub-Signature-256:
sha256=<hex>``; Gitea and Forgejo also send the bare hex digest as ``X-Gitea-Signature`` /
``X-Forgejo-Signature``. The signature is over the raw body, before any parsing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

PREFIXED_HEADER = "x-hub-signature-256"
BARE_HEADERS = ("x-gitea-signature", "x-forgejo-signature")
_PREFIX = "sha256="


def digest(secret: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body``."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``."""
    return _PREFIX + digest(secret, body)


def claimed_digest(headers: Mapping[str, str]) -> str | None:
    """The hex digest a delivery claims, from the first signature header it carries;
    None when it carries none, or the GitHub header lacks its ``sha256=`` prefix."""
    prefixed = headers.get(PREFIXED_HEADER)
    if prefixed is not None:
        return prefixed[len(_PREFIX) :] if prefixed.startswith(_PREFIX) else None
    for name in BARE_HEADERS:
        bare = headers.get(name)
        if bare is not None:
            return bare
    return None


def verify(secret: bytes, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether ``headers`` carry a valid signature of ``body`` made with ``secret``."""
    claimed = claimed_digest(headers)
    if claimed is None or not secret:
        return False
    expected = digest(secret, body)
    return hmac.compare_digest(
        expected.encode(), claimed.strip().lower().encode("ascii", "replace")
    )
