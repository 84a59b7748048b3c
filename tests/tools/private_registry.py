"""A registry of the test's own (``docker-registry`` on a free port, its own storage) and a
one-file image pushed to it, for tool tests that sign, attest and scan without the stack."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from seamline.adapters.registry import RegistryClient, sha256_digest

REGISTRY_BINARIES = ("docker-registry", "registry")


def registry_binary() -> str | None:
    return next((found for name in REGISTRY_BINARIES if (found := shutil.which(name))), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def private_registry(folder: Path) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a registry serving from ``folder``, stopped on exit."""
    binary = registry_binary()
    if binary is None:
        raise RuntimeError("no docker-registry binary on PATH")
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (folder / "registry.log").open("wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the registry did not start: see {folder / 'registry.log'}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def push_file_image(registry: str, repository: str, file: Path, *, tag: str = "1") -> str:
    """Push an image holding ``file`` at ``/<its name>``; ``registry/repository@sha256:…``."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        data = file.read_bytes()
        info = tarfile.TarInfo(file.name)
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(layer_tar.getvalue(), mtime=0)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": [f"/{file.name}"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer_tar.getvalue())]},
    }
    client = RegistryClient.for_url(f"http://{registry}")
    try:
        pushed_layer = client.push_blob(
            repository, layer, "application/vnd.oci.image.layer.v1.tar+gzip"
        )
        pushed_config = client.push_blob(
            repository, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"
        )
        digest = client.put_manifest(
            repository,
            tag,
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": pushed_config.as_json(),
                "layers": [pushed_layer.as_json()],
            },
        )
    finally:
        client.close()
    return f"{registry}/{repository}@{digest}"
