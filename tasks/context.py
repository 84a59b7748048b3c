"""What every stage of one run needs to know, handed to each task."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seamline.adapters.toolbox import Toolbox
from seamline.config.pipeline import PipelineConfig, ServiceSpec
from seamline.config.settings import Settings
from seamline.policy.image_output import ImageOutput, image_output
from seamline.run.inputs import RunInputs
from seamline.run.results import Event, Workspace

# Where a stage's plain function logs: the task run's logger in Prefect, any logger in tests.
Log = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    workspace: Workspace
    config: PipelineConfig
    event: Event
    overlay: str | None  # the overlay this run bumps; None: build and scan only
    inputs: RunInputs
    flow_run_id: str
    flow_run_url: str
    force: bool = False  # move images even from unrelated history
    # The overlay's image references as the preflight found them: what the run changes.
    overlay_baseline: dict[str, str] = field(default_factory=dict)

    @property
    def tools(self) -> Toolbox:
        return Toolbox(self.settings)

    @property
    def releases(self) -> bool:
        """Whether this run pushes, signs and commits (a push to a mapped branch)."""
        return self.overlay is not None

    @property
    def image_output(self) -> ImageOutput:
        """Where this run's images go, by the builder the settings choose."""
        return image_output(
            builder_pushes=self.settings.image_builder == "buildkit", releases=self.releases
        )

    @property
    def layouts_dir(self) -> Path:
        """The run's OCI layout folders (one per service), removed when the run ends."""
        return self.settings.run_layouts_dir(self.flow_run_id)

    def layout_dir(self, service: str) -> Path:
        return self.layouts_dir / service

    def service(self, name: str) -> ServiceSpec:
        return next(s for s in self.config.services if s.name == name)

    def evidence_dir(self, service: str) -> Path:
        path = self.settings.state_dir / "evidence" / self.flow_run_id / service
        path.mkdir(parents=True, exist_ok=True)
        return path
