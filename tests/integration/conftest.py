"""The real local stack for integration tests: brought up once per session by the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.toolbox import builder_tag
from seamline.config.pipeline import PipelineConfig, load_pipeline_config
from seamline.config.settings import PROJECT_ROOT, Settings
from seamline.orchestration.api_access import api_client
from seamline.orchestration.outcome import OUTCOME_KEY, RunOutcome
from seamline.orchestration.rest import PrefectRest
from seamline.validate.image_ref import ImageRef

SEAMLINE = Path(sys.executable).with_name("seamline")
T = TypeVar("T")
VULNERABLE = PROJECT_ROOT / "tests" / "fixtures" / "vulnerable-service"


def seamline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SEAMLINE), *args], capture_output=True, text=True, timeout=1800, env=env, check=False
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark integration tests; run the ones that stop the shared stack last."""
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.get_closest_marker("restarts_stack") is not None)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def stack_up(settings: Settings) -> dict[str, Any]:
    """`seamline stack up --json`, which must succeed with every component healthy."""
    result = seamline("stack", "up", "--json")
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    assert payload["healthy"], payload
    return payload


@pytest.fixture(scope="session")
def engine(stack_up: dict[str, Any], settings: Settings) -> Iterator[DockerEngine]:
    engine = DockerEngine.connect(settings.docker_host)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def bookstore() -> PipelineConfig:
    return load_pipeline_config(PROJECT_ROOT / "examples" / "bookstore")


@dataclass(frozen=True)
class BuiltImage:
    name: str
    reference: str  # repository:tag
    digest: str  # from the registry

    @property
    def by_digest(self) -> str:
        return ImageRef.parse(self.reference).with_digest(self.digest).by_digest()


def _build_and_push(
    engine: DockerEngine, settings: Settings, name: str, context: Path, repository: str
) -> BuiltImage:
    reference = f"{repository}:it-{name}"
    engine.build(
        context=context,
        dockerfile="Dockerfile",
        tag=reference,
        build_args={
            "GO_BUILDER_IMAGE": settings.go_builder(builder_tag(settings)),
            "RUNTIME_IMAGE": settings.runtime(),
        },
        labels={"org.opencontainers.image.source": "examples/bookstore"},
    )
    return BuiltImage(name, reference, engine.push(reference))


@pytest.fixture(scope="session")
def bookstore_images(
    engine: DockerEngine, settings: Settings, bookstore: PipelineConfig
) -> dict[str, BuiltImage]:
    return {
        s.name: _build_and_push(
            engine, settings, s.name, bookstore.context_of(s), bookstore.target_repository(s)
        )
        for s in bookstore.services
    }


@pytest.fixture(scope="session")
def vulnerable_image(engine: DockerEngine, settings: Settings) -> BuiltImage:
    return _build_and_push(
        engine, settings, "vulnerable", VULNERABLE, f"{settings.registry}/fixtures/vulnerable"
    )


def _log_page(settings: Settings, flow_run_id: str, offset: int) -> list[dict[str, Any]]:
    with api_client(settings) as api:
        page: list[dict[str, Any]] = api.post(
            "/logs/filter",
            json={
                "logs": {"flow_run_id": {"any_": [flow_run_id]}},
                "sort": "TIMESTAMP_ASC",
                "offset": offset,
                "limit": 200,
            },
        ).json()
    return page


def _all_logs(settings: Settings, flow_run_id: str) -> list[str]:
    messages: list[str] = []
    while True:
        page = _log_page(settings, flow_run_id, len(messages))
        messages += [entry["message"] for entry in page]
        if len(page) < 200:
            return messages


def run_logs(settings: Settings, flow_run_id: str, *, expect: str = "") -> str:
    """Every log message of an ended flow run, as the Prefect API keeps them.

    A run's last records reach the API after its state does (an executor's child sends them
    as it exits), so this waits for ``expect`` when given, and otherwise until the record
    count has stopped changing for two seconds."""
    deadline = time.monotonic() + 60
    seen, stable_since = -1, time.monotonic()
    while True:
        messages = _all_logs(settings, flow_run_id)
        text = "\n".join(messages)
        if expect and expect in text:
            return text
        if len(messages) != seen:
            seen, stable_since = len(messages), time.monotonic()
        elif not expect and time.monotonic() - stable_since >= 2.0:
            return text
        if time.monotonic() > deadline:
            return text
        time.sleep(0.25)


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float) -> T:
    """Poll ``probe`` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.25)


def flow_run(settings: Settings, flow_run_id: str) -> dict[str, Any]:
    with api_client(settings) as api:
        found: dict[str, Any] = api.get(f"/flow_runs/{flow_run_id}").json()
    return found


def ended_run(settings: Settings, flow_run_id: str) -> dict[str, Any] | None:
    run = flow_run(settings, flow_run_id)
    state = (run.get("state") or {}).get("type")
    return run if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None


def deployment_id(settings: Settings, flow: str, name: str) -> str:
    with api_client(settings) as client:
        found = PrefectRest(client).deployment_id(flow, name)
    assert found is not None, f"the {flow}/{name} deployment is registered"
    return found


def published_outcome(settings: Settings, flow_run_id: str) -> RunOutcome:
    """The outcome a run published on itself (what its command prints)."""
    with api_client(settings) as client:
        artifact = PrefectRest(client).artifact(flow_run_id, OUTCOME_KEY)
    assert artifact is not None, f"run {flow_run_id} left no {OUTCOME_KEY} artifact"
    outcome = RunOutcome.from_artifact(artifact)
    assert outcome is not None
    return outcome


MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      containers:
        - name: {name}
          image: {image}
"""


def add_service(source: Path, name: str, fixture: Path, repository: str) -> None:
    """Add ``fixture`` to a copy of the Bookstore as service ``name``: its code under
    app/, its [[services]] entry, and a Deployment in the base manifests that uses it."""
    shutil.copytree(fixture, source / "app" / name)
    image = f"bookstore/{name}"
    with (source / "seamline.toml").open("a") as config:
        config.write(
            f'\n[[services]]\nname = "{name}"\ncontext = "app/{name}"\n'
            f'dockerfile = "Dockerfile"\nimage = "{image}"\nrepository = "{repository}"\n'
        )
    base = source / "kustomize" / "base"
    (base / f"{name}.yaml").write_text(MANIFEST.format(name=name, image=image))
    kustomization = base / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + f"  - {name}.yaml\n")
