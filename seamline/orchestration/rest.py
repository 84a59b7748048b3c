"""The few Prefect REST calls that processes without Prefect imported make.

``seamline run`` through a deployment, the webhook receiver and the executor's parent talk
to the server with plain httpx: importing Prefect costs seconds, and a process that forks
must not hold Prefect's background threads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from seamline.errors import ServiceUnavailable

TERMINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})


@dataclass(frozen=True)
class FlowRunView:
    id: str
    name: str
    state_type: str
    state_name: str
    parameters: dict[str, Any]
    deployment_id: str | None
    tags: tuple[str, ...]

    @property
    def ended(self) -> bool:
        return self.state_type in TERMINAL

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowRunView:
        state = data.get("state") or {}
        return cls(
            id=str(data["id"]),
            name=str(data.get("name", "")),
            state_type=str(state.get("type", "SCHEDULED")),
            state_name=str(state.get("name", "")),
            parameters=dict(data.get("parameters") or {}),
            deployment_id=data.get("deployment_id"),
            tags=tuple(data.get("tags") or ()),
        )


class PrefectRest:
    """Prefect's REST API over one authenticated httpx client (``api_access.api_client``)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise ServiceUnavailable(
                f"the Prefect API did not answer {method} {path}: {type(e).__name__}",
                hint="run `seamline stack up`",
            ) from e
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ServiceUnavailable(
                f"the Prefect API refused {method} {path}: HTTP {response.status_code}",
                hint="check `seamline stack status`",
            )
        return response.json() if response.content else None

    # deployments and runs
    def deployment_id(self, flow: str, deployment: str) -> str | None:
        found = self._call("GET", f"/deployments/name/{flow}/{deployment}")
        return None if found is None else str(found["id"])

    def create_run(
        self,
        deployment_id: str,
        *,
        parameters: dict[str, Any],
        tags: list[str],
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> FlowRunView:
        body: dict[str, Any] = {"parameters": parameters, "tags": tags}
        if name:
            body["name"] = name
        if idempotency_key:
            body["idempotency_key"] = idempotency_key
        data = self._call("POST", f"/deployments/{deployment_id}/create_flow_run", json=body)
        return FlowRunView.from_json(data)

    def flow_run(self, run_id: str) -> FlowRunView | None:
        data = self._call("GET", f"/flow_runs/{run_id}")
        return None if data is None else FlowRunView.from_json(data)

    def set_state(
        self, run_id: str, state_type: str, message: str = "", force: bool = False
    ) -> bool:
        """Propose a state; True when the server accepted it (two executors proposing
        Pending for one run: exactly one is accepted)."""
        body = {"state": {"type": state_type, "message": message}, "force": force}
        result = self._call("POST", f"/flow_runs/{run_id}/set_state", json=body)
        return bool(result) and result.get("status") == "ACCEPT"

    def logs(self, run_id: str, offset: int, limit: int = 200) -> list[dict[str, Any]]:
        body = {
            "logs": {"flow_run_id": {"any_": [run_id]}},
            "sort": "TIMESTAMP_ASC",
            "offset": offset,
            "limit": limit,
        }
        return list(self._call("POST", "/logs/filter", json=body) or [])

    def task_runs(self, run_id: str) -> list[dict[str, Any]]:
        body = {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 200}
        return list(self._call("POST", "/task_runs/filter", json=body) or [])

    def artifact(self, run_id: str, key: str) -> dict[str, Any] | None:
        body = {
            "artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [run_id]}},
            "sort": "CREATED_DESC",
            "limit": 1,
        }
        found = self._call("POST", "/artifacts/filter", json=body) or []
        return found[0] if found else None

    def emit_event(
        self,
        *,
        event: str,
        resource: dict[str, str],
        related: list[dict[str, str]],
        payload: dict[str, Any],
    ) -> None:
        """One event into Prefect's event feed (the open-source server takes them too)."""
        body = {
            "id": str(uuid.uuid4()),
            "occurred": datetime.now(UTC).isoformat(),
            "event": event,
            "resource": resource,
            "related": related,
            "payload": payload,
        }
        self._call("POST", "/events", json=[body])

    # registration
    def ensure_work_pool(self, name: str, description: str) -> None:
        if self._call("GET", f"/work_pools/{name}") is None:
            body = {"name": name, "type": "process", "description": description}
            self._call("POST", "/work_pools/", json=body)

    def ensure_flow(self, name: str) -> str:
        return str(self._call("POST", "/flows/", json={"name": name})["id"])

    def upsert_deployment(self, body: dict[str, Any]) -> str:
        return str(self._call("POST", "/deployments/", json=body)["id"])

    # executors
    def variables(self, prefix: str) -> dict[str, Any]:
        body = {"variables": {"name": {"like_": f"{prefix}%"}}, "limit": 100}
        found = self._call("POST", "/variables/filter", json=body) or []
        return {v["name"]: v["value"] for v in found if v["name"].startswith(prefix)}

    def put_variable(self, name: str, value: str) -> None:
        if self._call("PATCH", f"/variables/name/{name}", json={"value": value}) is None:
            exists = self._call("GET", f"/variables/name/{name}")
            if exists is None:
                self._call("POST", "/variables/", json={"name": name, "value": value})

    def delete_variable(self, name: str) -> None:
        self._call("DELETE", f"/variables/name/{name}")

    def scheduled_runs(self, work_pool: str, *, within_s: float = 1.0) -> list[FlowRunView]:
        before = datetime.now(UTC) + timedelta(seconds=within_s)
        body = {"scheduled_before": before.isoformat()}
        found = self._call("POST", f"/work_pools/{work_pool}/get_scheduled_flow_runs", json=body)
        return [FlowRunView.from_json(item["flow_run"]) for item in found or []]

    def heartbeat(self, work_pool: str, worker: str, interval_s: float) -> None:
        body = {"name": worker, "heartbeat_interval_seconds": interval_s}
        self._call("POST", f"/work_pools/{work_pool}/workers/heartbeat", json=body)

    def runs_of_pool(self, work_pool: str, state_types: list[str]) -> list[FlowRunView]:
        body = {
            "work_pools": {"name": {"any_": [work_pool]}},
            "flow_runs": {"state": {"type": {"any_": state_types}}},
            "limit": 200,
        }
        return [
            FlowRunView.from_json(d)
            for d in self._call("POST", "/flow_runs/filter", json=body) or []
        ]
