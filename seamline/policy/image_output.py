"""Where a run's images go. A run that releases nothing (a pull request, a push to a branch
that maps to no overlay) pushes nothing: a builder that pushes as it builds writes its
image to an OCI layout folder of the run instead, and the Docker Engine keeps its image."""

from __future__ import annotations

from typing import Literal

# "registry": pushed as it is built (BuildKit, releasing); "layout": an OCI layout folder
# of the run, scanned there and removed when the run ends (BuildKit, releasing nothing);
# "engine": the Docker Engine's image store, pushed by the push stage only when releasing.
ImageOutput = Literal["registry", "layout", "engine"]


def image_output(*, builder_pushes: bool, releases: bool) -> ImageOutput:
    """Where the image of a run that ``releases`` (or not) goes, for a builder that
    pushes as it builds (``builder_pushes``) or keeps what it builds."""
    if not builder_pushes:
        return "engine"
    return "registry" if releases else "layout"


def cached_across_runs(output: ImageOutput) -> bool:
    """Whether a build (and its scan) may be reused by a later run: never a layout's,
    which is gone when its run ends."""
    return output != "layout"
