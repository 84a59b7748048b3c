"""Benchmark: seamline's control plane on the local stack, medians over N rounds; writes
bench/RESULTS.md.

    .venv/bin/python bench/control_plane.py [--rounds 5]

- receiver throughput: signed GitHub push deliveries (each a new delivery id, so dedupe
  records every one) posted by 8 client threads to the receiver in a process of its own
  (bench/counting_receiver.py: the stack's server and dedupe log, a run starter that only
  counts), a bounded 2000 deliveries; then 500 forged ones, which must start nothing;
- delivery → Running: a signed pull-request delivery to the stack's receiver, until its
  flow run is Running on an executor;
- no-change `seamline run` through the deployment: the whole command, cached end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from results_file import write_section  # noqa: E402

from seamline.config.settings import Settings  # noqa: E402
from seamline.orchestration.api_access import api_client  # noqa: E402
from seamline.webhook.secret import load_secret  # noqa: E402
from seamline.webhook.signature import sign  # noqa: E402

MARK = "<!-- control-plane -->"
# Between measures: the server records the last run's task runs and events for a moment
# after it ends; each measure starts on a quiet server.
SETTLE_S = 3.0
SEAMLINE = Path(sys.executable).with_name("seamline")
DATA = ROOT / "tests" / "data" / "webhooks"


def _post(client: httpx.Client, url: str, body: bytes, secret: bytes) -> dict[str, object]:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    answer = client.post(url, content=body, headers=headers)
    try:
        found: dict[str, object] = answer.json()
    except ValueError:
        found = {}
    return {**found, "code": answer.status_code}


def receiver_throughput(total: int = 2000, forged: int = 500) -> tuple[float, int, int]:
    """Signed deliveries per second, and the runs started by signed and by forged ones
    (counted from the receiver's answers: "started" with a run id)."""
    with tempfile.TemporaryDirectory(prefix="seamline-bench-") as folder:
        secret = "bench-" + uuid.uuid4().hex
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        receiver = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "counting_receiver.py"), folder, str(port)],
            env={**os.environ, "SEAMLINE_WEBHOOK_SECRET": secret},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/hooks"
        body = (DATA / "github-push-main.json").read_bytes()
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/healthz")

            def signed_batch(count: int) -> list[dict[str, object]]:
                with httpx.Client(timeout=30) as client:
                    return [_post(client, url, body, secret.encode()) for _ in range(count)]

            began = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                answers = [a for batch in pool.map(signed_batch, [total // 8] * 8) for a in batch]
            seconds = time.perf_counter() - began
            _require({a["code"] for a in answers} == {200}, "a signed delivery was refused")

            def forged_batch(count: int) -> list[dict[str, object]]:
                with httpx.Client(timeout=30) as client:
                    return [_post(client, url, body, b"not-the-secret") for _ in range(count)]

            with ThreadPoolExecutor(8) as pool:
                refused = [a for batch in pool.map(forged_batch, [forged // 8] * 8) for a in batch]
            _require({a["code"] for a in refused} == {401}, "a forged delivery was not refused")
        finally:
            receiver.terminate()
            receiver.wait(timeout=30)
    return len(answers) / seconds, _started(answers), _started(refused)


def _started(answers: list[dict[str, object]]) -> int:
    return sum(1 for a in answers if a.get("status") == "started")


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the receiver did not start")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark invalid: {what}")


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
        time.sleep(SETTLE_S)
        whole.append(no_change_run())
        time.sleep(SETTLE_S)
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
