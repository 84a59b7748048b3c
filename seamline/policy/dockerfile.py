"""What a Dockerfile may make the image builder fetch, decided before the build.

`RUN` steps have no network, but the builder itself fetches `FROM` images, `COPY --from`
images and `ADD <url>` sources with the daemon's own network and credentials (a cloud
metadata address included). A Dockerfile may copy from images only of seamline's build
arguments (``GO_BUILDER_IMAGE``, ``RUNTIME_IMAGE``), earlier stages or the target
registry, and may ADD nothing from a URL. Its `FROM` images are judged on the build copy
(``tasks.preflight.check_bases``): mirrored, seamline's own, or on the builder already.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@)")
_ARG = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def instructions(text: str) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, words) per instruction, continuation lines joined, comments dropped."""
    found: list[tuple[str, list[str]]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        words = (pending + line).split()
        pending = ""
        if words:
            found.append((words[0].upper(), words[1:]))
    return found


def fetch_problems(text: str, *, build_args: Iterable[str], registries: Iterable[str]) -> list[str]:
    """Every base or source the builder would fetch from somewhere it should not."""
    allowed_args = set(build_args)
    prefixes = tuple(f"{registry}/" for registry in registries)
    stages: list[str] = []
    problems: list[str] = []

    def allowed_image(image: str) -> bool:
        arg = _ARG.match(image)
        return (
            image == "scratch"
            or image.lower() in stages
            or (arg is not None and arg.group(1) in allowed_args)
            or image.startswith(prefixes)
        )

    for instruction, words in instructions(text):
        options = [w for w in words if w.startswith("--")]
        plain = [w for w in words if not w.startswith("--")]
        if instruction == "FROM" and plain:
            if len(plain) >= 3 and plain[1].upper() == "AS":
                stages.append(plain[2].lower())
            else:
                stages.append(str(len(stages)))
        elif instruction == "COPY":
            for option in options:
                if option.startswith("--from="):
                    source = option.removeprefix("--from=")
                    if not source.isdigit() and not allowed_image(source):
                        problems.append(f"COPY {option}: not a stage or a base seamline provides")
        elif instruction == "ADD":
            sources = plain[:-1]
            rest = " ".join(plain)
            if rest.startswith("["):  # the JSON form: ADD ["src", ..., "dest"]
                try:
                    sources = [str(w) for w in json.loads(rest)][:-1]
                except (json.JSONDecodeError, TypeError):
                    problems.append(f"ADD {rest}: not valid JSON")
            for source in sources:
                if _URL.match(source):
                    problems.append(f"ADD {source}: a download by the image builder")
    return problems
