"""The names a run is given from outside, checked before they reach a tool.

Service and overlay names, git refs and commit ids, OCI registry hosts and repository
names: each has a grammar, and anything outside it is a usage error that names the value
and the rule. A name that passes can be handed to git, kustomize or a registry as an
argument and never be read as an option or a path that climbs out.
"""

from __future__ import annotations

import re

from seamline.errors import UsageError

NAME_RULE = "1 to 63 lowercase letters, digits and dashes, starting with a letter or digit"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

COMMIT_ID = re.compile(r"^[0-9a-f]{7,40}$")
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")
REF_RULE = (
    "a branch or tag name (as `git check-ref-format` allows, not starting with `-`) "
    "or a commit id of 7 to 40 hex digits"
)
# What `git check-ref-format` forbids anywhere in a ref.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")

# The OCI distribution grammar: path components of lowercase alphanumerics joined by
# separators, a host that is a domain or IP with an optional port.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_HOST = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]{1,5})?$"
)
REPOSITORY_RULE = (
    "an OCI repository name: lowercase path components of letters and digits joined by "
    "'.', '_', '__' or '-', separated by '/'"
)


def check_name(value: str, *, what: str) -> str:
    """A service or overlay name: also a folder name, so never a path."""
    if not _NAME.match(value):
        raise UsageError(
            f"{what} {value!r} is not a valid name: a name is {NAME_RULE}",
            hint=f"use {NAME_RULE}",
        )
    return value


def check_ref(value: str, *, what: str = "ref") -> str:
    """A branch, tag or commit id that git can only read as a revision."""
    if COMMIT_ID.match(value) or _valid_ref_name(value):
        return value
    raise UsageError(
        f"{what} {value!r} is not a ref name or commit id: it must be {REF_RULE}",
        hint=f"pass {REF_RULE}",
    )


def is_full_commit(value: str) -> bool:
    return bool(_FULL_COMMIT.match(value))


def _valid_ref_name(value: str) -> bool:
    if not value or value.startswith(("-", "/")) or value.endswith(("/", ".", ".lock")):
        return False
    if value == "@" or _REF_FORBIDDEN.search(value):
        return False
    return all(part and not part.startswith(".") for part in value.split("/"))


def check_registry(value: str) -> str:
    if not _HOST.match(value):
        raise UsageError(
            f"registry {value!r} is not a registry host",
            hint="use host[:port], e.g. 127.0.0.1:5000 or ghcr.io",
        )
    return value


def check_repository(value: str, *, what: str = "repository") -> str:
    if len(value) > 255 or not _REPOSITORY.match(value):
        raise UsageError(f"{what} {value!r} is not valid", hint=f"use {REPOSITORY_RULE}")
    return value


def check_image_name(value: str, *, what: str = "image") -> str:
    """An image name as kustomize manifests use it: an optional registry host, then a
    repository; no tag or digest."""
    host, slash, rest = value.partition("/")
    looks_like_host = slash and ("." in host or ":" in host or host == "localhost")
    if looks_like_host:
        check_registry(host)
        check_repository(rest, what=what)
    else:
        check_repository(value, what=what)
    return value
