"""RegistryClient against an in-memory registry behind httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest

from seamline.adapters.registry import RegistryClient, sha256_digest
from seamline.errors import ServiceUnavailable, ToolFailed


class MemoryRegistry:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, bytes] = {}
        self.uploads = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(200)
        if "/blobs/uploads/" in path and request.method == "POST":
            self.uploads += 1
            return httpx.Response(
                202, headers={"Location": f"/upload/{self.uploads}?_state=opaque"}
            )
        if path.startswith("/upload/") and request.method == "PUT":
            if request.url.params.get("_state") != "opaque":
                return httpx.Response(404, text="BLOB_UPLOAD_INVALID")
            digest = request.url.params["digest"]
            if sha256_digest(request.content) != digest:
                return httpx.Response(400, text="DIGEST_INVALID")
            self.blobs[digest] = request.content
            return httpx.Response(201)
        if "/blobs/" in path and request.method == "HEAD":
            return httpx.Response(200 if path.rsplit("/", 1)[1] in self.blobs else 404)
        if "/manifests/" in path:
            ref = path.rsplit("/", 1)[1]
            if request.method == "PUT":
                self.manifests[ref] = request.content
                return httpx.Response(
                    201, headers={"Docker-Content-Digest": sha256_digest(request.content)}
                )
            if ref not in self.manifests:
                return httpx.Response(404)
            body = self.manifests[ref]
            headers = {"Docker-Content-Digest": sha256_digest(body)}
            return httpx.Response(
                200, content=b"" if request.method == "HEAD" else body, headers=headers
            )
        return httpx.Response(500, text="unexpected")


def test_push_artifact_and_read_it_back() -> None:
    registry = MemoryRegistry()
    client = RegistryClient.for_url("http://registry", transport=httpx.MockTransport(registry))
    assert client.ping()
    assert client.manifest_digest("a/b", "2") is None
    layer = client.push_blob("a/b", b"layer-bytes", "application/x-test")
    again = client.push_blob("a/b", b"layer-bytes", "application/x-test")
    assert layer == again and registry.uploads == 1
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "layers": [layer.as_json()],
    }
    digest = client.put_manifest("a/b", "2", manifest)
    assert client.manifest_digest("a/b", "2") == digest
    assert client.manifest("a/b", "2") == json.loads(registry.manifests["2"])


def test_errors_say_what_failed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="unavailable")

    client = RegistryClient.for_url("http://registry", transport=httpx.MockTransport(refuse))
    with pytest.raises(ToolFailed, match="HTTP 503"):
        client.manifest_digest("a/b", "latest")

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    client = RegistryClient.for_url("http://registry", transport=httpx.MockTransport(down))
    assert not client.ping()
    with pytest.raises(ServiceUnavailable, match="did not answer"):
        client.manifest("a/b", "latest")
