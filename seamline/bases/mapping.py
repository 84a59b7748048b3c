"""``[pipeline.base_images]``: the mirror that stands in for an upstream base image.

A key matches a reference by its most specific part: a key with a digest matches that
exact reference; a key with a tag matches that repository and tag, pinned to any digest or
to none; a key with neither matches the repository at any tag or digest. The most specific
matching key wins; Docker Hub's spellings (``golang``, ``library/golang``,
``docker.io/library/golang``) are one repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from seamline.validate.image_ref import ImageRef

SETTING = "[pipeline.base_images]"
_HUB = ("", "docker.io", "index.docker.io", "registry-1.docker.io")


def _repository(ref: ImageRef) -> str:
    """The repository a reference names, Docker Hub's spellings made one."""
    if ref.registry in _HUB:
        return ref.repository.removeprefix("library/")
    return f"{ref.registry}/{ref.repository}"


def example_line(reference: str, registry: str) -> str:
    """A ``seamline.toml`` line that maps ``reference`` to a mirror in ``registry``."""
    ref = ImageRef.parse(reference)
    tag = f":{ref.tag}" if ref.tag else ""
    path = ref.repository.removeprefix("library/") if ref.registry in _HUB else ref.repository
    return f'"{ref.name}{tag}" = "{registry}/mirror/{path}{tag}"'


@dataclass(frozen=True, kw_only=True)
class BaseImageMap:
    """Upstream reference -> mirror reference, both checked by ``ImageRef``."""

    entries: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for upstream, mirror in self.entries.items():
            ImageRef.parse(upstream)
            ImageRef.parse(mirror)

    def mirror_for(self, reference: str) -> str | None:
        """The mirror standing in for ``reference``, None when no key matches."""
        ref = ImageRef.parse(reference)
        best: tuple[int, str] | None = None
        for upstream, mirror in self.entries.items():
            rank = _rank(ImageRef.parse(upstream), ref)
            if rank is not None and (best is None or rank > best[0]):
                best = (rank, mirror)
        return best[1] if best else None


def _rank(key: ImageRef, ref: ImageRef) -> int | None:
    """How specifically ``key`` matches ``ref`` (higher: more), None when it does not."""
    if _repository(key) != _repository(ref):
        return None
    if key.digest is not None:
        same_tag = key.tag is None or key.tag == ref.tag
        return 3 if key.digest == ref.digest and same_tag else None
    if key.tag is not None:
        tag = ref.tag or (None if ref.digest else "latest")
        return 2 if key.tag == tag else None
    return 1
