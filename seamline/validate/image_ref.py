"""Image references, parsed once: ``[registry/]repository[:tag][@digest]``.

Splitting a reference by hand goes wrong on the colon of a registry port
(``127.0.0.1:5000/app`` has no tag) and on a reference pinned by both tag and digest;
every place that needs a part of a reference asks ``ImageRef`` instead. Parsing splits
as the Docker engine and SDK do (the tag after the last colon with no slash after it; the
first path part is a registry when it has a dot or a colon or is ``localhost``; a unit
test holds this to ``docker.utils.parse_repository_tag`` and ``docker.auth.split_repo_name``)
and then checks each part against the OCI grammar, so a malformed reference is a usage
error that names it, not a tool's failure later. The Docker SDK is not imported: a
reference parse is on every command's start-up path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NoReturn

from seamline.errors import UsageError
from seamline.validate.names import check_registry, check_repository

# The registry a reference that names none resolves to (the Docker SDK's INDEX_NAME).
INDEX_NAME = "docker.io"
REFERENCE_RULE = "[registry[:port]/]repository[:tag][@sha256:<64 hex digits>]"
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    """One image reference. ``registry`` is "" when the reference names none (the
    daemon's default registry then applies); ``str()`` gives the reference back."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """The reference ``text``; a ``UsageError`` naming it when it is not one."""
        if not text or text != text.strip() or any(c.isspace() for c in text):
            _refuse(text, "it is empty or contains whitespace")
        if "://" in text:
            _refuse(text, "a reference has no URL scheme")
        name, digest = _split_digest(text)
        name, tag = split_tag(name)
        index, path = split_registry(name)
        registry = "" if index == INDEX_NAME and not name.startswith(INDEX_NAME + "/") else index
        if registry:
            _check(text, check_registry, registry)
        _check(text, check_repository, path)
        if tag is not None and not _TAG.match(tag):
            _refuse(text, f"tag {tag!r} is not 1 to 128 letters, digits, '_', '.' or '-'")
        return cls(registry=registry, repository=path, tag=tag, digest=digest)

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def tag_or_latest(self) -> str:
        return self.tag or "latest"

    @property
    def manifest_reference(self) -> str:
        """What a registry's manifest endpoint takes: the digest, else the tag."""
        return self.digest or self.tag_or_latest

    def repository_in(self, registry: str) -> str:
        """The repository path, checked to lie in ``registry``."""
        if self.registry != registry:
            raise UsageError(
                f"{self} is not in the registry {registry}",
                hint="name images and mirrors as <registry>/<repository>:<tag>",
            )
        return self.repository

    def with_digest(self, digest: str) -> ImageRef:
        """This reference pinned to ``digest`` (its tag kept, for people)."""
        return replace(self, digest=_checked_digest(f"{self.name}@{digest}", digest))

    def by_digest(self) -> str:
        """``registry/repository@digest``: what a pull of exactly this image takes."""
        if self.digest is None:
            raise UsageError(
                f"{self} is not pinned by digest", hint="pass repository@sha256:<digest>"
            )
        return f"{self.name}@{self.digest}"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.name}{tag}{digest}"


def split_tag(name: str) -> tuple[str, str | None]:
    """``name`` (no digest) and its tag: what follows the last colon, unless a slash does
    too (then the colon is a registry's port)."""
    rest, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return name, None
    return rest, tag


def split_registry(name: str) -> tuple[str, str]:
    """The registry and the repository path of ``name`` (no tag, no digest): the first
    part is a registry only when it has a dot or a port or is ``localhost``, else the
    name is Docker Hub's."""
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        return INDEX_NAME, name
    return first, rest


def _split_digest(text: str) -> tuple[str, str | None]:
    name, at, digest = text.partition("@")
    if not at:
        return text, None
    if not name:
        _refuse(text, "the repository is missing")
    return name, _checked_digest(text, digest)


def _checked_digest(text: str, digest: str) -> str:
    if not _DIGEST.match(digest) or (digest.startswith("sha256:") and not _SHA256.match(digest)):
        _refuse(text, f"digest {digest!r} is not <algorithm>:<hex>, e.g. sha256:<64 hex digits>")
    return digest


def _check(text: str, check: Callable[[str], str], value: str) -> None:
    try:
        check(value)
    except UsageError as e:
        _refuse(text, e.message)


def _refuse(text: str, why: str) -> NoReturn:
    raise UsageError(f"image reference {text!r} is not valid: {why}", hint=f"use {REFERENCE_RULE}")
