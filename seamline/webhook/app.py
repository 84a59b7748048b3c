"""The HTTP side of the receiver: ``POST /hooks`` takes GitHub or Gitea/Forgejo deliveries.

In order: a body over the size cap is refused (413) before it is read in full; a missing
or wrong signature is refused (401) and starts nothing; unreadable headers or body are
refused (400); ``ping`` answers 200; a delivery id seen before answers 200 and starts
nothing; anything else is decided (``decide``) and recorded, and either starts a run (200
with the flow run id) or is ignored (202). The secret and the signature headers are never
logged or echoed; a run that cannot be started answers 503 and forgets the delivery id, so
the sender's redelivery can try again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seamline.errors import DeliveryInvalid
from seamline.output.redaction import redact
from seamline.webhook import signature
from seamline.webhook.decide import BranchRules, Ignored, decide
from seamline.webhook.events import Ping, delivery_headers, parse_event
from seamline.webhook.replay import DeliveryLog
from seamline.webhook.starter import RunStarter

log = logging.getLogger("seamline.webhook")
PATH = "/hooks"


class _TooLarge(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Receiver:
    secret: SecretStr
    starter: RunStarter
    deliveries: DeliveryLog
    rules: BranchRules
    max_body: int

    def __post_init__(self) -> None:
        if not self.secret.get_secret_value():
            raise ValueError("the webhook secret is empty")
        if self.max_body < 1:
            raise ValueError("max_body must be positive")

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def hooks(self, request: Request) -> JSONResponse:
        try:
            body = await self._body(request)
        except _TooLarge:
            return _answer(413, status="rejected", detail=f"body over {self.max_body} bytes")
        if not signature.verify(self.secret.get_secret_value().encode(), body, request.headers):
            log.warning("delivery refused: missing or wrong signature")
            return _answer(401, status="rejected", detail="missing or wrong signature")
        try:
            headers = delivery_headers(request.headers)
            event = parse_event(headers.event, body)
        except DeliveryInvalid as e:
            return _answer(400, status="rejected", detail=e.message)
        if isinstance(event, Ping):
            return _answer(200, status="pong", delivery=headers.delivery_id)
        delivery = headers.delivery_id
        if not await run_in_threadpool(self.deliveries.claim, delivery, headers.event):
            log.info("delivery %s: replayed, nothing started", delivery)
            return _answer(200, status="duplicate", delivery=delivery)
        decision = decide(headers, event, self.rules)
        if isinstance(decision, Ignored):
            await run_in_threadpool(
                self.deliveries.settle, delivery, outcome="ignored", detail=decision.reason
            )
            log.info("delivery %s (%s): ignored: %s", delivery, headers.event, decision.reason)
            return _answer(202, status="ignored", delivery=delivery, reason=decision.reason)
        try:
            flow_run_id = await run_in_threadpool(self.starter.start, decision)
        except Exception as e:
            await run_in_threadpool(self.deliveries.release, delivery)
            shown = redact(str(e), [self.secret.get_secret_value()])
            log.error("delivery %s: the run could not be started: %s", delivery, shown)
            return _answer(503, status="error", delivery=delivery, detail="run not started")
        await run_in_threadpool(
            self.deliveries.settle, delivery, outcome="started", detail=flow_run_id
        )
        log.info(
            "delivery %s: %s run %s of %s at %s (%s)",
            delivery,
            decision.event,
            flow_run_id,
            decision.repo,
            decision.commit[:12],
            decision.reason,
        )
        return _answer(200, status="started", flow_run_id=flow_run_id, delivery=delivery)


def _answer(code: int, **content: str) -> JSONResponse:
    return JSONResponse(content, status_code=code)


def create_app(
    *,
    secret: SecretStr,
    starter: RunStarter,
    deliveries: DeliveryLog,
    rules: BranchRules,
    max_body: int,
    code: str = "",
) -> Starlette:
    """The receiver's app; ``code`` (its code's and settings' fingerprints) is told on
    ``/healthz``, so the stack can tell a receiver running older code or settings."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "code": code})

    receiver = Receiver(
        secret=secret, starter=starter, deliveries=deliveries, rules=rules, max_body=max_body
    )
    return Starlette(
        routes=[
            Route(PATH, receiver.hooks, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
