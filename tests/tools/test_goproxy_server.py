"""The module proxy as a real server on loopback, in front of the real proxy.golang.org
(this test needs the Internet): `go mod download` of a module goes through it, checksum
database included, and the module lands in its cache."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seamline.config.settings import Settings
from seamline.tools.pins import locate

pytestmark = pytest.mark.tool

MODULE = "github.com/google/uuid@v1.6.0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, cache = _free_port(), tmp_path / "cache"
    argv = [sys.executable, "-m", "seamline.goproxy", "--listen", "127.0.0.1"]
    argv += ["--port", str(port), "--cache", str(cache), "--upstream", Settings().goproxy_upstream]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, cache
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_go_mod_download_goes_through_the_proxy_and_its_checksum_database(
    proxy: tuple[str, Path], tmp_path: Path
) -> None:
    url, cache = proxy
    env = {
        **os.environ,
        "GOPROXY": url,
        "GOSUMDB": "sum.golang.org",
        "GONOSUMDB": "",
        "GOPRIVATE": "",
        "GOFLAGS": "-mod=mod -modcacherw",
        "GOMODCACHE": str(tmp_path / "modcache"),
        "GOPATH": str(tmp_path / "gopath"),
        "GOTOOLCHAIN": "local",
    }
    go = locate("go", Settings().tools_dir)
    result = subprocess.run(
        [str(go), "mod", "download", "-json", MODULE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout)["Sum"] == "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0="
    assert (cache / "github.com/google/uuid/@v/v1.6.0.zip").is_file()
    assert (cache / "github.com/google/uuid/@v/v1.6.0.mod").is_file()
    assert any((cache / "sumdb/sum.golang.org/tile").rglob("*")), "sumdb was not proxied"


def test_a_path_out_of_the_cache_is_refused_over_http(proxy: tuple[str, Path]) -> None:
    url, _ = proxy
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5) as s:
        s.sendall(b"GET /../../etc/passwd HTTP/1.0\r\n\r\n")
        status = s.recv(64).split(b" ")[1]
    assert status == b"400"
    assert httpx.get(f"{url}/healthz", timeout=5).json()["service"] == "seamline-goproxy"
