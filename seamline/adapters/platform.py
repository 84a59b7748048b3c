"""The automatic platform arguments BuildKit defines for a Dockerfile, for one platform."""

from __future__ import annotations


def platform_args(os: str, arch: str) -> dict[str, str]:
    """BuildKit's automatic platform arguments for a build on and for ``os``/``arch``."""
    platform = f"{os}/{arch}"
    return {
        "BUILDPLATFORM": platform,
        "BUILDOS": os,
        "BUILDARCH": arch,
        "TARGETPLATFORM": platform,
        "TARGETOS": os,
        "TARGETARCH": arch,
    }
