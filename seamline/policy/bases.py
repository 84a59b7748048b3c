"""Which base images a build may pull, decided on seamline's build copy of each Dockerfile.

A ``FROM`` image must be one of seamline's own bases (its build arguments), in a registry
seamline builds from (a mirror of ``[pipeline.base_images]`` included), or already on the
builder; anything else would be fetched from the Internet, which an offline build cannot
and a build must not. The refusal is a usage error that names each reference and the
``seamline.toml`` line that maps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from seamline.bases.mapping import SETTING, example_line
from seamline.bases.rewrite import BuildCopy
from seamline.config.pipeline import CONFIG_NAME
from seamline.errors import UsageError


def check_bases(
    copies: Mapping[str, BuildCopy],
    *,
    provided: Iterable[str],
    registries: Iterable[str],
    held: Callable[[str], bool],
    mirror_registry: str,
) -> None:
    """Refuse the build copies (service -> copy) that pull an image from elsewhere.
    ``held`` asks the builder, only for images neither ``provided`` nor in
    ``registries``; ``mirror_registry`` is where the example lines put the mirrors."""
    own = set(provided)
    prefixes = tuple(f"{registry}/" for registry in registries)
    problems: list[str] = []
    unmapped: set[str] = set()
    for service, copy in copies.items():
        problems += [f"{service}: {problem}" for problem in copy.problems]
        mirrors = {s.substituted: s.original for s in copy.substitutions}
        for base in copy.bases:
            if base in own or base.startswith(prefixes) or held(base):
                continue
            if base in mirrors:
                problems.append(
                    f"{service}: the mirror {base} of {mirrors[base]} is in no registry "
                    "seamline builds from and not on the builder"
                )
            else:
                problems.append(f"{service}: FROM {base} is not mirrored")
                unmapped.add(base)
    if not problems:
        return
    if unmapped:
        lines = "; ".join(example_line(base, mirror_registry) for base in sorted(unmapped))
        hint = (
            f"map each upstream base to a mirror under {SETTING} in {CONFIG_NAME}, e.g. {lines} "
            f"(`seamline stack up` serves {mirror_registry}/mirror/golang and "
            f"{mirror_registry}/mirror/distroless/static), or load the image into the builder"
        )
    else:
        hint = (
            f"point {SETTING} in {CONFIG_NAME} at mirrors in {mirror_registry}, and name "
            "images in FROM lines that resolve from their ARGs"
        )
    raise UsageError("base images the build cannot pull: " + "; ".join(problems), hint=hint)
