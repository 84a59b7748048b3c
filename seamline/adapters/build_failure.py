"""What a failed image build means: the environment (a base image out of reach) or the
Dockerfile's content (a failing RUN, a COPY of a missing file). Shared by every builder."""

from __future__ import annotations

import re

from seamline.errors import GateFailure, SeamlineError, ToolFailed
from seamline.tools.process import last_lines

# Build failures that are about reaching a base image, not about the Dockerfile's content.
_UNREACHABLE = re.compile(
    r"pull access denied|manifest .*not found|manifest unknown|dial tcp|no such host"
    r"|i/o timeout|connection refused|TLS handshake|toomanyrequests"
    r"|failed to resolve source metadata",
    re.IGNORECASE,
)


def build_failure(
    tag: str, message: str, output: str, *, tool: str = "docker build"
) -> SeamlineError:
    """A failed build as the error it is: a base image out of reach is the environment;
    anything else is the Dockerfile's content, a gate failure that a retry would not
    change."""
    said = last_lines(output, lines=6, limit=1500)
    if _UNREACHABLE.search(message):
        return ToolFailed(
            f"{tool} of {tag} could not get a base image: {message}",
            hint="mirror the base image into the registry (`seamline stack up` mirrors the "
            "stack's own) or set SEAMLINE_GO_BUILDER_IMAGE / SEAMLINE_RUNTIME_IMAGE",
            stderr_tail=said,
        )
    return GateFailure(
        f"{tool} of {tag} failed: {message}" + (f"\n{said}" if said else ""),
        hint=f"fix the Dockerfile or the code it builds; `{tool}` reproduces it",
    )
