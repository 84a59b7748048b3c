"""seamline's build copy of a Dockerfile: its ``FROM`` lines naming the mirrors of
``[pipeline.base_images]`` instead of upstream images. The repository's file is never
written; the copy is built with the repository's folder as the context.

Each ``FROM [--platform=P] IMAGE [AS NAME]`` resolves ``${VAR}`` and ``$VAR`` from the
``ARG`` lines before the first ``FROM`` (a build argument wins over a default) and from the
automatic platform arguments; an earlier stage's name and ``scratch`` are not images. A
line whose image has a mirror is written as one line naming the mirror; a ``--platform``
value is written resolved (the classic builder has no automatic platform arguments), unless
the builder sets them itself (BuildKit): then it stays as written. Every
other line stays as written, parser directives included: they are reported, since only
BuildKit honours them. For BuildKit (``builtin_frontend``), a ``# syntax=`` directive
naming Docker's own Dockerfile frontend is taken out: BuildKit would pull that frontend
image from Docker Hub, and its built-in frontend already reads the stable syntax (cache
mounts included). Instructions only BuildKit builds are listed, for the classic builder
to refuse before it starts. For a build that releases nothing (``untrusted``), every
``RUN`` cache mount's id is written under ``seamline-untrusted/``
(``seamline.bases.cache_mounts``): it never shares a cache with a release. With
``name_final_stage``, the last stage gets a name if it has none (``FINAL_STAGE``), so
BuildKit can be told to build that stage without its cache (``BuildCopy.final_stage``).
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from seamline.bases.cache_mounts import namespace_cache_mounts
from seamline.bases.mapping import BaseImageMap
from seamline.errors import UsageError
from seamline.validate.image_ref import ImageRef

_DIRECTIVE = re.compile(r"^#\s*(syntax|escape|check)\s*=\s*(\S.*?)\s*$", re.IGNORECASE)
# Docker's own frontend image, any tag or digest: what BuildKit's built-in frontend is.
_OWN_FRONTEND = re.compile(r"^(?:docker\.io/)?docker/dockerfile(?:-upstream)?(?:[:@]\S*)?$")
# Flags only BuildKit's frontend takes, per instruction.
_BUILDKIT_FLAGS = {
    "RUN": ("--mount", "--network", "--security"),
    "COPY": ("--link", "--parents", "--exclude"),
    "ADD": ("--link", "--parents", "--exclude", "--checksum", "--keep-git-dir"),
}
FINAL_STAGE = "seamline-final"
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True, kw_only=True)
class Substitution:
    """One ``FROM`` whose upstream image the build copy replaces by its mirror."""

    original: str  # the reference as the Dockerfile resolves it
    substituted: str  # the mirror reference the build copy names
    line: int  # where the FROM starts in the Dockerfile, from 1


@dataclass(frozen=True, kw_only=True)
class BuildCopy:
    text: str
    substitutions: tuple[Substitution, ...]
    bases: tuple[str, ...]  # every image the copy's FROM lines pull, mirrors included
    unmapped: tuple[str, ...]  # images no key of the mapping matched
    directives: tuple[str, ...]  # parser directive lines, as written
    problems: tuple[str, ...]  # FROM lines whose image is not a reference
    dropped: tuple[str, ...] = ()  # directives taken out for BuildKit's built-in frontend
    buildkit_only: tuple[str, ...] = ()  # "line N: ..." that only BuildKit builds
    cache_ids: tuple[str, ...] = ()  # "line N: id=..." per cache mount namespaced
    cache_refusals: tuple[str, ...] = ()  # "line N: why" per mount left unnamespaced
    final_stage: str = ""  # the last stage's name, with ``name_final_stage``


@dataclass(frozen=True)
class _Instruction:
    first: int  # index of its first physical line
    last: int  # index of its last physical line
    text: str  # continuation lines joined, comment lines inside left out


def build_copy(
    text: str,
    *,
    mapping: BaseImageMap,
    build_args: Mapping[str, str],
    platform_args: Mapping[str, str] | None = None,
    resolve_platform_flags: bool = True,
    builtin_frontend: bool = False,
    untrusted: bool = False,
    name_final_stage: bool = False,
) -> BuildCopy:
    """The build copy of the Dockerfile ``text`` and what changed in it. ``platform_args``
    resolve image names; ``resolve_platform_flags`` also writes them into ``--platform``
    values, for a builder that does not set them itself; ``builtin_frontend`` takes out a
    ``# syntax=`` directive naming Docker's own frontend (BuildKit builds with its own);
    ``untrusted`` namespaces the ids of its cache mounts, listing what it cannot;
    ``name_final_stage`` names the last stage when it has no name."""
    lines = text.splitlines(keepends=True)
    directives, escape = _directives(lines)
    buildkit_only = [f"line {i + 1}: {d}" for i, d in enumerate(directives) if _key(d) == "syntax"]
    variables: dict[str, str] = dict(platform_args or {})
    stages: list[str] = []
    substitutions: list[Substitution] = []
    bases: list[str] = []
    unmapped: list[str] = []
    problems: list[str] = []
    last: tuple[_Instruction, list[str], str, str] | None = None  # step, flags, image, name
    for step in _instructions(lines, escape, skip=len(directives)):
        keyword, _, rest = step.text.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            _declare(rest, variables, build_args)
        leading = itertools.takewhile(lambda w: w.startswith("--"), rest.split())
        flag = next(
            (w for w in leading if w.split("=")[0] in _BUILDKIT_FLAGS.get(keyword, ())), None
        )
        if flag is not None:
            buildkit_only.append(f"line {step.first + 1}: {keyword} {flag.split(',')[0]}")
        if keyword != "FROM":
            continue
        words = rest.split()
        flags = [w for w in words if w.startswith("--")]
        plain = [w for w in words if not w.startswith("--")]
        if not plain:
            problems.append(f"line {step.first + 1}: FROM names no image")
            continue
        image, name = plain[0], (plain[2] if len(plain) >= 3 and plain[1].upper() == "AS" else "")
        resolved = _expand(image, variables)
        mirror = None
        if resolved.lower() not in stages and resolved != "scratch":
            try:
                ImageRef.parse(resolved)
            except UsageError as e:
                problems.append(f"line {step.first + 1}: FROM {image}: {e.message}")
                stages.append(name.lower() or str(len(stages)))
                continue
            mirror = mapping.mirror_for(resolved)
            if mirror is None:
                unmapped.append(resolved)
            else:
                substitutions.append(
                    Substitution(original=resolved, substituted=mirror, line=step.first + 1)
                )
            bases.append(mirror or resolved)
        platform = (
            [_resolved_flag(f, variables) for f in flags] if resolve_platform_flags else flags
        )
        if mirror is not None or platform != flags:
            written = " ".join(
                ["FROM", *platform, mirror or image, *(["AS", name] if name else [])]
            )
            _replace(lines, step, written)
        last = (step, platform, mirror or image, name)
        stages.append(name.lower() or str(len(stages)))
    final_stage = ""
    if name_final_stage and last is not None:
        step, platform, image, final_stage = last
        if not final_stage:
            final_stage = _unused(FINAL_STAGE, stages)
            _replace(lines, step, " ".join(["FROM", *platform, image, "AS", final_stage]))
    dropped = _drop_own_frontend(lines, directives) if builtin_frontend else []
    written = "".join(lines)
    cache_ids: tuple[str, ...] = ()
    cache_refusals: tuple[str, ...] = ()
    if untrusted:
        caches = namespace_cache_mounts(written, escape=escape, skip=len(directives))
        written, cache_ids, cache_refusals = caches.text, caches.namespaced, caches.refusals
    return BuildCopy(
        text=written,
        substitutions=tuple(substitutions),
        bases=tuple(bases),
        unmapped=tuple(unmapped),
        directives=tuple(directives),
        problems=tuple(problems),
        dropped=tuple(dropped),
        buildkit_only=tuple(buildkit_only),
        cache_ids=cache_ids,
        cache_refusals=cache_refusals,
        final_stage=final_stage,
    )


def _unused(name: str, stages: list[str]) -> str:
    """``name``, or with a number after it, whichever no stage has."""
    candidates = itertools.chain([name], (f"{name}-{n}" for n in itertools.count(2)))
    return next(c for c in candidates if c not in stages)


def _key(directive: str) -> str:
    match = _DIRECTIVE.match(directive)
    return match.group(1).lower() if match else ""


def _drop_own_frontend(lines: list[str], directives: list[str]) -> list[str]:
    """Take the ``# syntax=`` directives naming Docker's own frontend out of the directive
    block at the top of ``lines``; blank lines after the block keep every later line's
    number. Returns the directives taken out."""
    dropped = [d for d in directives if _key(d) == "syntax" and _OWN_FRONTEND.match(_value(d))]
    if not dropped:
        return []
    block = lines[: len(directives)]
    ending = block[0][len(block[0].rstrip("\r\n")) :] or "\n"
    kept = [line for line in block if line.strip() not in dropped]
    lines[: len(directives)] = kept + [ending] * (len(block) - len(kept))
    return dropped


def _value(directive: str) -> str:
    match = _DIRECTIVE.match(directive)
    return match.group(2) if match else ""


def _directives(lines: list[str]) -> tuple[list[str], str]:
    """The parser directives at the top of the file, and the escape character they set."""
    found: list[str] = []
    escape = "\\"
    for line in lines:
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        found.append(line.strip())
        if match.group(1).lower() == "escape" and match.group(2) in ("`", "\\"):
            escape = match.group(2)
    return found, escape


def _instructions(lines: list[str], escape: str, *, skip: int) -> list[_Instruction]:
    found: list[_Instruction] = []
    first: int | None = None
    pending = ""
    for index in range(skip, len(lines)):
        line = lines[index].strip()
        if not line or line.startswith("#"):
            continue  # comments and blank lines, also inside a continuation
        if first is None:
            first = index
        if line.endswith(escape):
            pending += line[: -len(escape)] + " "
            continue
        found.append(_Instruction(first, index, pending + line))
        first, pending = None, ""
    if first is not None:
        found.append(_Instruction(first, len(lines) - 1, pending))
    return found


def _declare(rest: str, variables: dict[str, str], build_args: Mapping[str, str]) -> None:
    """An ``ARG`` before the first FROM: a build argument wins, then the default, then
    the automatic platform argument of that name, else empty."""
    try:
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    for word in words:
        name, has_default, default = word.partition("=")
        if name in build_args:
            variables[name] = build_args[name]
        elif has_default:
            variables[name] = _expand(default, variables)
        else:
            variables.setdefault(name, "")


def _expand(word: str, variables: Mapping[str, str]) -> str:
    """``word`` with ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:+other}``
    resolved; an unknown variable is empty, as in a Dockerfile."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        found = variables.get(name)
        operator, word = match.group(2), match.group(3) or ""
        if operator in (":-", "-"):
            missing = found is None or (operator == ":-" and not found)
            return word if missing else str(found)
        if operator in (":+", "+"):
            present = found is not None and (operator == "+" or bool(found))
            return word if present else ""
        return found or ""

    return _VARIABLE.sub(value, word)


def _resolved_flag(flag: str, variables: Mapping[str, str]) -> str:
    """``--platform=$BUILDPLATFORM`` written resolved when the variables know it."""
    name, eq, value = flag.partition("=")
    if name.lower() != "--platform" or not eq or "$" not in value:
        return flag
    resolved = _expand(value, variables)
    return f"{name}={resolved}" if resolved else flag


def _replace(lines: list[str], step: _Instruction, written: str) -> None:
    """``written`` in place of the instruction's lines; its continuation lines become blank
    so every later line keeps its number."""
    ending = lines[step.first][len(lines[step.first].rstrip("\r\n")) :] or "\n"
    lines[step.first] = written + ending
    for index in range(step.first + 1, step.last + 1):
        lines[index] = ending
