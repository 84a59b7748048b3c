"""Benchmark: seamline's control plane on the local stack, medians over N rounds; writes
bench/RESULTS.md.

    .venv/bin/python bench/control_plane.py [--rounds 5]

- receiver throughput: signed GitHub push deliveries (each a new delivery id, so dedupe
  records every one) posted by 8 client threads to a receiver in this process (uvicorn on
  loopback) whose run starter only counts, for a bounded 2000 deliveries; then 500 forged
  ones, which must start nothing;
- delivery → Running: a signed pull-request delivery to the stack's receiver, until its
  flow run is Running on an executor;
- no-change `seamline run` through the deployment: the whole command, cached end to end.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results_file import write_section  # noqa: E402

from deployments.webhook_relay import server  # noqa: E402
from seamline.config.settings import Settings  # noqa: E402
from seamline.orchestration.api_access import api_client  # noqa: E402
from seamline.webhook.decide import RunRequest  # noqa: E402
from seamline.webhook.secret import load_secret  # noqa: E402
from seamline.webhook.signature import sign  # noqa: E402

MARK = "<!-- control-plane -->"
SEAMLINE = Path(sys.executable).with_name("seamline")
DATA = ROOT / "tests" / "data" / "webhooks"


@dataclass
class CountingStarter:
    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, request: RunRequest) -> str:
        with self.lock:
            self.started += 1
            return f"run-{self.started}"


def _post(client: httpx.Client, url: str, body: bytes, secret: bytes, event: str) -> int:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    return client.post(url, content=body, headers=headers).status_code


def receiver_throughput(total: int = 2000, forged: int = 500) -> tuple[float, int, int]:
    """Signed deliveries per second, runs started by them, runs started by forged ones."""
    with tempfile.TemporaryDirectory(prefix="seamline-bench-") as folder:
        secret = "bench-" + uuid.uuid4().hex
        settings = Settings(state_dir=Path(folder), webhook_secret=secret)
        starter = CountingStarter()
        uvicorn_server = server(settings, starter, port=0)
        uvicorn_server.config.log_level = "warning"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(256)
        thread = threading.Thread(
            target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        thread.start()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        body = (DATA / "github-push-main.json").read_bytes()
        try:
            with httpx.Client(timeout=30) as client:
                # warm up: the first requests build the app's state
                _require(_post(client, url, body, secret.encode(), "push") == 200, "warm-up")
            started_before = starter.started

            def worker(count: int) -> list[int]:
                with httpx.Client(timeout=30) as client:
                    return [_post(client, url, body, secret.encode(), "push") for _ in range(count)]

            began = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                statuses = [s for batch in pool.map(worker, [total // 8] * 8) for s in batch]
            seconds = time.perf_counter() - began
            _require(set(statuses) == {200}, f"signed deliveries answered {set(statuses)}")
            signed_runs = starter.started - started_before
            with ThreadPoolExecutor(8) as pool:
                forged_statuses = [
                    s
                    for batch in pool.map(lambda n: _forged(url, body, n), [forged // 8] * 8)
                    for s in batch
                ]
            _require(set(forged_statuses) == {401}, f"forged answered {set(forged_statuses)}")
            forged_runs = starter.started - started_before - signed_runs
        finally:
            uvicorn_server.should_exit = True
            thread.join(timeout=10)
            sock.close()
    return len(statuses) / seconds, signed_runs, forged_runs


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark invalid: {what}")


def _forged(url: str, body: bytes, count: int) -> list[int]:
    with httpx.Client(timeout=30) as client:
        return [_post(client, url, body, b"not-the-secret", "push") for _ in range(count)]


def delivery_to_running(settings: Settings) -> float:
    """A signed pull-request delivery to the stack's receiver until its run is Running."""
    remote = settings.local_gitops_remote
    head = subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    payload = json.loads((DATA / "github-pull_request-fork.json").read_text())
    payload["pull_request"]["head"]["sha"] = head
    payload["pull_request"]["head"]["repo"]["clone_url"] = str(remote)
    body = json.dumps(payload).encode()
    secret = load_secret(settings).get_secret_value().encode()
    with httpx.Client(timeout=30) as client, api_client(settings) as api:
        began = time.perf_counter()
        answer = client.post(
            settings.webhook_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": sign(secret, body),
            },
        )
        answer.raise_for_status()
        run_id = answer.json()["flow_run_id"]
        while True:
            state = api.get(f"/flow_runs/{run_id}").json()["state"]["type"]
            if state in ("RUNNING", "COMPLETED", "FAILED", "CRASHED"):
                seconds = time.perf_counter() - began
                break
            time.sleep(0.02)
        while api.get(f"/flow_runs/{run_id}").json()["state"]["type"] == "RUNNING":
            time.sleep(0.2)  # let it end before the next round
    return seconds


def no_change_run() -> float:
    began = time.perf_counter()
    result = subprocess.run(
        [str(SEAMLINE), "run", "--json"], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0 or "on seamline-ci/ci" not in result.stderr:
        raise SystemExit(f"the run did not go through the deployment:\n{result.stderr[-2000:]}")
    if json.loads(result.stdout)["commit"] is not None:
        raise SystemExit("the no-change run committed: caching is broken")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    no_change_run()  # the first run after a restart fills the cache; not counted
    rates, signed, forged, latency, whole = [], [], [], [], []
    for _ in range(args.rounds):
        rate, started, fake = receiver_throughput()
        rates.append(rate)
        signed.append(started)
        forged.append(fake)
        latency.append(delivery_to_running(settings))
        whole.append(no_change_run())
    med = statistics.median
    rows = [
        ("receiver: signed deliveries/s (8 clients, dedupe on)", f"{med(rates):.0f}", "≥ 200"),
        ("runs started by 2000 signed deliveries", f"{med(signed):.0f}", "2000"),
        ("runs started by 500 forged deliveries", f"{max(forged)}", "0"),
        ("signed delivery → flow run Running", f"{med(latency):.2f} s", "≤ 2 s"),
        ("no-change `seamline run` through the deployment", f"{med(whole):.2f} s", "≤ 2 s"),
    ]
    lines = [
        "## Control plane",
        "",
        f"`.venv/bin/python bench/control_plane.py --rounds {args.rounds}` "
        f"({time.strftime('%Y-%m-%d')}, 2 cores; medians of {args.rounds} rounds)",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        "Per round (delivery → Running s, whole command s): "
        + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(latency, whole, strict=True)),
    ]
    print(write_section(MARK, lines))


if __name__ == "__main__":
    main()
