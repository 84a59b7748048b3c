"""Logs the Prefect API could not take are kept, then delivered once it is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from seamline.orchestration.log_delivery import deliver_spooled_logs

# With the API out of reach (a closed port, no client retries), a log sent the way
# Prefect's API handler sends it ends up in the spool instead of being dropped.
SCRIPT = """
import sys
from pathlib import Path
from prefect.logging.handlers import APILogWorker, emit_api_log
from seamline.orchestration.log_delivery import keep_undelivered_logs

keep_undelivered_logs(Path(sys.argv[1]))
emit_api_log({"name": "t", "level": 20, "message": "kept for later", "timestamp":
              "2026-11-28T00:00:00Z", "flow_run_id": None, "task_run_id": None})
APILogWorker.drain_all(timeout=30)
"""


def test_undelivered_logs_are_spooled_then_delivered(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = dict(
        os.environ,
        PREFECT_API_URL="http://127.0.0.1:1/api",
        PREFECT_CLIENT_MAX_RETRIES="0",
        PREFECT_HOME=str(tmp_path / "home"),
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(spool)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    batches = list(spool.glob("*.json"))
    assert len(batches) == 1 and batches[0].stat().st_mode & 0o777 == 0o600
    assert json.loads(batches[0].read_bytes())[0]["message"] == "kept for later"

    received: list[bytes] = []

    def api(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(201)

    down = httpx.Client(
        base_url="http://api",
        transport=httpx.MockTransport(lambda r: httpx.Response(503)),
    )
    assert deliver_spooled_logs(spool, lambda: down) == 0 and len(list(spool.glob("*.json"))) == 1
    up = httpx.Client(base_url="http://api", transport=httpx.MockTransport(api))
    assert deliver_spooled_logs(spool, lambda: up) == 1
    assert json.loads(received[0])[0]["message"] == "kept for later"
    assert list(spool.glob("*.json")) == []


def test_a_batch_the_api_will_never_take_is_set_aside(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "1.json").write_text("[]")
    (spool / "2.json").write_text("[]")
    answers = iter([422, 201])
    client = httpx.Client(
        base_url="http://api",
        transport=httpx.MockTransport(lambda r: httpx.Response(next(answers))),
    )
    assert deliver_spooled_logs(spool, lambda: client) == 1
    assert [p.name for p in (spool / "rejected").iterdir()] == ["1.json"]
    assert list(spool.glob("*.json")) == []


# An API that answers 503, which Prefect's client retries for about a minute: the batch is
# kept within the patience given, and the process can exit without losing it.
SLOW_API = """
import sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

class Busy(BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(503)
        self.end_headers()
    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Busy)
threading.Thread(target=server.serve_forever, daemon=True).start()
import os
os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{server.server_port}/api"
from prefect.logging.handlers import APILogWorker, emit_api_log
from seamline.orchestration.log_delivery import keep_undelivered_logs

keep_undelivered_logs(Path(sys.argv[1]), patience_s=2)
started = time.monotonic()
emit_api_log({"name": "t", "level": 20, "message": "kept though the API stalls",
              "timestamp": "2026-11-28T00:00:00Z", "flow_run_id": None, "task_run_id": None})
APILogWorker.drain_all(timeout=30)
print(round(time.monotonic() - started, 1))
"""


def test_a_batch_the_api_stalls_on_is_kept_within_the_patience(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "home"))
    env.pop("PREFECT_API_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", SLOW_API, str(spool)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip().splitlines()[-1]) < 15  # not Prefect's minute of retries
    batches = list(spool.glob("*.json"))
    assert len(batches) == 1
    assert json.loads(batches[0].read_bytes())[0]["message"] == "kept though the API stalls"
