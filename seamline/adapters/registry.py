"""OCI distribution API client (the local registry, or any v2 registry) over httpx."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from seamline.adapters.tls import tls_context
from seamline.errors import ServiceUnavailable, ToolFailed

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest}
        out["size"] = self.size
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """Talks to one registry. Build it with ``RegistryClient.for_url`` or pass a client."""

    def __init__(self, *, client: httpx.Client) -> None:
        self._http = client

    @classmethod
    def for_url(
        cls, base_url: str, *, transport: httpx.BaseTransport | None = None
    ) -> RegistryClient:
        return cls(
            client=httpx.Client(
                base_url=base_url, transport=transport, timeout=30.0, verify=tls_context()
            )
        )

    def close(self) -> None:
        self._http.close()

    def ping(self) -> bool:
        try:
            return self._http.get("/v2/").status_code == 200
        except httpx.HTTPError:
            return False

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The registry's digest for ``repository:reference``; None when it has none."""
        response = self._request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES}
        )
        if response.status_code == 404:
            return None
        self._raise_for(response, f"HEAD manifest {repository}:{reference}")
        digest: str | None = response.headers.get("Docker-Content-Digest")
        return digest

    def manifest(self, repository: str, reference: str) -> dict[str, Any] | None:
        response = self._request(
            "GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES}
        )
        if response.status_code == 404:
            return None
        self._raise_for(response, f"GET manifest {repository}:{reference}")
        body: dict[str, Any] = response.json()
        return body

    def blob(self, repository: str, digest: str) -> bytes:
        """The blob ``digest`` of ``repository`` (a config or a layer)."""
        response = self._request("GET", f"/v2/{repository}/blobs/{digest}", follow_redirects=True)
        self._raise_for(response, f"GET blob {repository}@{digest}")
        return response.content

    def push_blob(self, repository: str, data: bytes, media_type: str) -> Descriptor:
        digest = sha256_digest(data)
        head = self._request("HEAD", f"/v2/{repository}/blobs/{digest}")
        if head.status_code != 200:
            start = self._request("POST", f"/v2/{repository}/blobs/uploads/")
            self._raise_for(start, f"start blob upload to {repository}")
            # The upload URL carries its own state in the query: add to it, never replace it.
            location = httpx.URL(start.headers["Location"]).copy_merge_params({"digest": digest})
            put = self._request(
                "PUT",
                str(location),
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            )
            self._raise_for(put, f"upload blob {digest} to {repository}")
        return Descriptor(media_type, digest, len(data))

    def put_manifest(self, repository: str, reference: str, manifest: dict[str, Any]) -> str:
        body = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            content=body,
            headers={"Content-Type": manifest["mediaType"]},
        )
        self._raise_for(response, f"PUT manifest {repository}:{reference}")
        return response.headers.get("Docker-Content-Digest") or sha256_digest(body)

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.HTTPError as e:
            raise ServiceUnavailable(
                f"registry {self._http.base_url} did not answer {method} {url}: {e}",
                hint="start it with `seamline stack up`",
            ) from e

    @staticmethod
    def _raise_for(response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            raise ToolFailed(
                f"registry refused {what}: HTTP {response.status_code}",
                returncode=response.status_code,
                stderr_tail=response.text[:500],
                transient=response.status_code >= 500,
            )
