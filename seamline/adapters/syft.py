"""syft: an SPDX JSON SBOM of an image in a registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seamline.errors import ToolFailed
from seamline.tools.process import run


class Syft:
    def __init__(self, *, binary: Path, cache_dir: Path, insecure_http: bool) -> None:
        self._binary = binary
        self._cache_dir = cache_dir
        self._insecure_http = insecure_http

    def spdx_json(self, reference: str) -> dict[str, Any]:
        result = run(
            [str(self._binary), "scan", f"registry:{reference}", "-o", "spdx-json", "-q"],
            env={
                "SYFT_CHECK_FOR_APP_UPDATE": "false",
                "SYFT_REGISTRY_INSECURE_USE_HTTP": str(self._insecure_http).lower(),
                "SYFT_CACHE_DIR": str(self._cache_dir),
            },
            timeout=600,
        )
        try:
            document: dict[str, Any] = json.loads(result.stdout)
        except json.JSONDecodeError as e:
            raise ToolFailed(f"syft printed no JSON SBOM for {reference}: {e}") from e
        return document
