"""The webhook receiver as the stack runs it (its own process, uvicorn, the SQLite
dedupe log), with a run starter that only counts: for bench/control_plane.py.

    python bench/counting_receiver.py STATE_DIR PORT   (secret: SEAMLINE_WEBHOOK_SECRET)
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deployments.webhook_relay import server  # noqa: E402
from seamline.config.settings import Settings  # noqa: E402
from seamline.webhook.decide import RunRequest  # noqa: E402


@dataclass
class CountingStarter:
    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, request: RunRequest) -> str:
        with self.lock:
            self.started += 1
            return f"counted-{self.started}"


if __name__ == "__main__":
    settings = Settings(state_dir=Path(sys.argv[1]))
    server(settings, CountingStarter(), port=int(sys.argv[2])).run()
