"""The stand-ins for common upstream bases that the local stack serves under ``mirror/``,
and the ``[pipeline.base_images]`` table that maps those upstream names to them.

The Go builder image (this machine's Go toolchain) stands in for ``golang`` at the
toolchain's version, its minor version and ``latest``, each also as ``-alpine``: what the
Go-only stages of real Dockerfiles need. The static non-root runtime stands in for
``gcr.io/distroless/static`` and ``static-debian12``, ``nonroot`` and ``latest``.
"""

from __future__ import annotations

MIRROR = "mirror"


def stand_ins(registry: str, go_version: str) -> dict[str, tuple[str, ...]]:
    """Local base (``go-builder``, ``runtime``) -> the mirror references it is pushed as."""
    minor = ".".join(go_version.split(".")[:2])
    golang = [f"{registry}/{MIRROR}/golang:{v}" for v in (go_version, minor, "latest")]
    golang += [f"{registry}/{MIRROR}/golang:{v}-alpine" for v in (go_version, minor)]
    golang.append(f"{registry}/{MIRROR}/golang:alpine")
    runtime = [
        f"{registry}/{MIRROR}/distroless/{name}:{tag}"
        for name in ("static", "static-debian12")
        for tag in ("nonroot", "latest")
    ]
    return {"go-builder": tuple(golang), "runtime": tuple(runtime)}


def default_mapping(registry: str, go_version: str) -> dict[str, str]:
    """The ``[pipeline.base_images]`` table for the stand-ins: every ``golang`` tag to the
    local Go toolchain's ``-alpine`` image, and distroless static to the static runtime."""
    minor = ".".join(go_version.split(".")[:2])
    mirror = f"{registry}/{MIRROR}"
    return {
        "golang": f"{mirror}/golang:{minor}-alpine",
        "gcr.io/distroless/static": f"{mirror}/distroless/static:nonroot",
        "gcr.io/distroless/static-debian12": f"{mirror}/distroless/static-debian12:nonroot",
    }
