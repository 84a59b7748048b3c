"""Prefect's logs, made safe and durable: Prefect writes them to the console and to its
API without masking anything, and drops a batch it could not deliver."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from seamline.output.human import RedactingFilter


def redact_prefect_logs(secrets: Sequence[str]) -> None:
    """Attach a redacting filter to every handler of every Prefect logger (call after import)."""
    redactor = RedactingFilter(secrets)
    loggers = [logging.getLogger()] + [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("prefect")
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(redactor)


def keep_undelivered_logs(spool: Path, *, patience_s: float = 10.0) -> None:
    """Logs Prefect could not deliver within ``patience_s`` (the API away) are written to
    ``spool`` instead of dropped; ``deliver_spooled_logs`` sends them later. Prefect's own
    client would retry a batch for about a minute, then drop it, and a process that exits
    meanwhile loses it. Call after importing Prefect."""
    from prefect.logging.handlers import APILogWorker, set_api_log_sink

    class SpoolingLogWorker(APILogWorker):
        async def _handle_batch(self, items: list[bytes]) -> None:
            body = b"[" + b",".join(items) + b"]"
            try:
                await asyncio.wait_for(
                    self._client.request(
                        "POST",
                        "/logs/",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    ),
                    timeout=patience_s,
                )
            except Exception:  # any failure to deliver, or too slow: keep it for later
                _spool(spool, body)

    set_api_log_sink(lambda log: SpoolingLogWorker.instance().send(log))


def _spool(spool: Path, body: bytes) -> None:
    spool.mkdir(parents=True, exist_ok=True)
    name = spool / f"{time.time_ns()}-{os.getpid()}-{threading.get_ident()}.json"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as sink:
        sink.write(body)


def deliver_spooled_logs(spool: Path, connect: Callable[[], httpx.Client]) -> int:
    """Send every spooled batch to the Prefect API (``connect`` makes a client with its
    base URL and auth, only when there is a batch); a delivered batch is deleted. Returns
    how many were delivered; stops at the first failure (try again next time)."""
    batches = sorted(spool.glob("*.json")) if spool.is_dir() else []
    if not batches:
        return 0
    with connect() as client:
        return _deliver(spool, batches, client)


def _deliver(spool: Path, batches: list[Path], client: httpx.Client) -> int:
    delivered = 0
    for batch in batches:
        try:
            body = batch.read_bytes()
        except FileNotFoundError:
            continue  # another process delivered it first
        try:
            response = client.post(
                "/logs/", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError:
            break
        if response.status_code in (401, 403) or response.status_code >= 500:
            break  # the API is not ready for us yet: keep everything for next time
        if response.status_code >= 400:  # the API will never take this one: set it aside
            rejected = spool / "rejected"
            rejected.mkdir(exist_ok=True)
            batch.rename(rejected / batch.name)
            continue
        batch.unlink(missing_ok=True)
        delivered += 1
    return delivered


def deliver_logs_now(timeout_s: float = 5.0) -> None:
    """Send every log record this process has queued for the API, and wait until it is
    sent (a client reading the run's logs then has them all). Call from a flow or task
    thread, not from an event loop."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout_s)
