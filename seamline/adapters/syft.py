"""syft: an SPDX JSON SBOM of an image in a registry."""

from __future__ import annotations

import json
from pathlib import Path

from seamline.adapters.roles import Sbom
from seamline.errors import ToolFailed
from seamline.tools.process import run

SPDX_JSON = "spdx-json"


class Syft:
    def __init__(self, *, binary: Path, cache_dir: Path, insecure_http: bool) -> None:
        self._binary = binary
        self._cache_dir = cache_dir
        self._insecure_http = insecure_http

    def sbom(self, reference: str) -> Sbom:
        result = run(
            [str(self._binary), "scan", f"registry:{reference}", "-o", SPDX_JSON, "-q"],
            env={
                "SYFT_CHECK_FOR_APP_UPDATE": "false",
                "SYFT_REGISTRY_INSECURE_USE_HTTP": str(self._insecure_http).lower(),
                "SYFT_CACHE_DIR": str(self._cache_dir),
            },
            timeout=600,
        )
        return read_spdx(result.stdout, reference)


def read_spdx(text: str, reference: str) -> Sbom:
    """An SPDX JSON document as syft printed it; ToolFailed unless it is SPDX and lists
    packages (an SBOM of nothing attests nothing)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToolFailed(f"syft printed no JSON SBOM for {reference}: {e}") from e
    version = document.get("spdxVersion") if isinstance(document, dict) else None
    packages = document.get("packages") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("SPDX-"):
        raise ToolFailed(f"syft printed no SPDX document for {reference}")
    if not isinstance(packages, list) or not packages:
        raise ToolFailed(f"syft produced no SPDX packages for {reference}")
    return Sbom(document=text, format=SPDX_JSON, package_count=len(packages))
