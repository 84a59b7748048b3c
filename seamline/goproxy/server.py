"""The module proxy: answers checked GOPROXY and checksum-database paths from its cache or
from the upstream proxy, keeping the answers that never change (a version's ``.info``,
``.mod`` and ``.zip``, full checksum-database tiles) on disk.

``GoProxy`` decides what to answer and does no socket work of its own besides the
upstream client, so it is tested with ``httpx.MockTransport``; ``serve`` puts it behind
one HTTP server per listen address.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from seamline.goproxy.paths import BadPath, Kind, ProxyPath, parse

log = logging.getLogger("seamline.goproxy")

SUMDBS = frozenset({"sum.golang.org"})
SERVICE = "seamline-goproxy"
# Go's own limits: a module zip is at most 500 MiB, a go.mod 16 MiB.
LIMITS = {Kind.ZIP: 500 << 20, Kind.MOD: 16 << 20}
DEFAULT_LIMIT = 4 << 20
CONTENT_TYPES = {
    Kind.INFO: "application/json",
    Kind.LATEST: "application/json",
    Kind.ZIP: "application/zip",
}
UPSTREAM_TIMEOUT_S = 60.0
CHUNK = 1 << 16


def upstream_id(upstream: str) -> str:
    """What the health answer says about the upstream: enough to tell two proxies apart,
    nothing a build step could use."""
    return hashlib.sha256(upstream.rstrip("/").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    file: Path | None = None  # served from the cache instead of ``body``


class TooLarge(Exception):
    pass


class GoProxy:
    """One upstream, one cache folder."""

    def __init__(self, *, upstream: str, cache_dir: Path, client: httpx.Client) -> None:
        self._upstream = upstream.rstrip("/")
        self._cache = cache_dir
        self._client = client

    @classmethod
    def connect(cls, *, upstream: str, cache_dir: Path) -> GoProxy:
        client = httpx.Client(timeout=UPSTREAM_TIMEOUT_S, follow_redirects=True)
        return cls(upstream=upstream, cache_dir=cache_dir, client=client)

    def health(self) -> dict[str, str]:
        return {"service": SERVICE, "upstream": upstream_id(self._upstream)}

    def cached(self, path: ProxyPath) -> Path:
        target = (self._cache / path.path).resolve()
        if not target.is_relative_to(self._cache.resolve()):
            raise BadPath("path leaves the cache")  # parse() already refuses such paths
        return target

    def respond(self, raw_path: str) -> Answer:
        try:
            path = parse(raw_path, sumdbs=SUMDBS)
        except BadPath as e:
            return Answer(e.status, body=f"{e}\n".encode())
        content_type = CONTENT_TYPES.get(path.kind, "text/plain; charset=utf-8")
        limit = LIMITS.get(path.kind, DEFAULT_LIMIT)
        try:
            if path.immutable:
                return self._through_cache(path, content_type, limit)
            return self._passed(path, content_type, limit)
        except httpx.HTTPError as e:
            log.warning("upstream failed for %s: %s", path.path, e)
            return Answer(502, body=b"the upstream module proxy did not answer\n")
        except TooLarge:
            return Answer(502, body=b"the upstream answer is larger than allowed\n")

    def _url(self, path: ProxyPath) -> str:
        return f"{self._upstream}/{path.path}"

    def _passed(self, path: ProxyPath, content_type: str, limit: int) -> Answer:
        with self._client.stream("GET", self._url(path)) as response:
            body = bytearray()
            for chunk in response.iter_bytes(CHUNK):
                body += chunk
                if len(body) > limit:
                    raise TooLarge
            return self._relayed(response.status_code, content_type, bytes(body))

    @staticmethod
    def _relayed(status: int, content_type: str, body: bytes) -> Answer:
        if status == 200:
            return Answer(200, content_type, body)
        if status in (404, 410):  # the go command shows this text as the reason
            return Answer(status, body=body[:1024])
        return Answer(502, body=f"the upstream module proxy answered {status}\n".encode())

    def _through_cache(self, path: ProxyPath, content_type: str, limit: int) -> Answer:
        target = self.cached(path)
        if target.is_file():
            return Answer(200, content_type, file=target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        try:
            with os.fdopen(fd, "wb") as out, self._client.stream("GET", self._url(path)) as got:
                if got.status_code != 200:
                    return self._relayed(got.status_code, content_type, got.read()[:1024])
                size = 0
                for chunk in got.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return Answer(200, content_type, file=target)


def handler(proxy: GoProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = SERVICE
        sys_version = ""
        timeout = 30  # a client that stops sending does not hold a thread for long

        def do_GET(self) -> None:
            self._answer(head=False)

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def _answer(self, *, head: bool) -> None:
            if self.path == "/healthz":
                body = json.dumps(proxy.health()).encode()
                answer = Answer(200, "application/json", body)
            else:
                answer = proxy.respond(self.path)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            if answer.file is not None:
                self.send_header("Content-Length", str(answer.file.stat().st_size))
                self.end_headers()
                if not head:
                    with answer.file.open("rb") as source:
                        while chunk := source.read(CHUNK):
                            self.wfile.write(chunk)
                return
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if not head:
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def serve(proxy: GoProxy, *, addresses: Sequence[str], port: int) -> None:
    """Serve on ``port`` of every address until SIGTERM or SIGINT."""
    servers = [_Server((address, port), handler(proxy)) for address in addresses]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    log.info("serving on %s, port %d", ", ".join(addresses), port)
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
