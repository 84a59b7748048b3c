"""The ``[pipeline.base_images]`` proposed for a repository: the upstream bases its
Dockerfiles pull that a mirror stands in for, and the ones none does.

Each Dockerfile's ``FROM`` images are read as seamline's build copy reads them. A key of
``stand_ins`` (the stack's mirror, ``seamline.bases.stand_ins.default_mapping``) that
matches one of them is proposed as written there; an image no key matches is listed, for
the file to show the line that would map it once a mirror serves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy


@dataclass(frozen=True, kw_only=True)
class ProposedBases:
    mapped: dict[str, str]  # key of the mapping -> the mirror it names
    unmapped: tuple[str, ...]  # upstream references no stand-in serves


def propose_bases(dockerfiles: Iterable[str], stand_ins: Mapping[str, str]) -> ProposedBases:
    """The stand-in keys the Dockerfile texts ``dockerfiles`` need, and what stays upstream."""
    everything = BaseImageMap(entries=dict(stand_ins))
    used: dict[str, str] = {}
    unmapped: dict[str, None] = {}
    for text in dockerfiles:
        copy = build_copy(text, mapping=everything, build_args={}, platform_args={})
        unmapped.update(dict.fromkeys(copy.unmapped))
        for substitution in copy.substitutions:
            for key, mirror in stand_ins.items():
                alone = BaseImageMap(entries={key: mirror})
                if alone.mirror_for(substitution.original) == substitution.substituted:
                    used[key] = mirror
    return ProposedBases(
        mapped={k: used[k] for k in stand_ins if k in used}, unmapped=tuple(sorted(unmapped))
    )
