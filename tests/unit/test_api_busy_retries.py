"""The Prefect API client rides out a busy SQLite server (503) and gives up in time."""

from __future__ import annotations

import httpx

from seamline.orchestration.api_access import BusyRetries


def _client(statuses: list[int]) -> tuple[httpx.Client, list[int]]:
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0) if statuses else 200
        seen.append(status)
        return httpx.Response(status, json={})

    transport = BusyRetries(httpx.MockTransport(answer), delays_s=(0.0,) * 6)
    return httpx.Client(transport=transport, base_url="http://prefect"), seen


def test_a_busy_answer_is_retried_until_the_server_takes_the_request() -> None:
    client, seen = _client([503, 503, 201])
    assert client.post("/deployments/x/create_flow_run", json={}).status_code == 201
    assert seen == [503, 503, 201]


def test_other_errors_are_not_retried_and_retries_end() -> None:
    client, seen = _client([500])
    assert client.get("/flow_runs/x").status_code == 500 and seen == [500]
    client, seen = _client([503] * 10)
    assert client.get("/flow_runs/x").status_code == 503
    assert len(seen) == 7
