"""The Trivy vulnerability DB mirror.

``mirror/advisories.json`` (real advisory facts) is compiled into a Trivy DB by the Go
program in ``mirror/trivy-db`` (trivy-db's own packages), packed as ``db.tar.gz`` and pushed
to the local registry as the OCI artifact that ``trivy --db-repository`` pulls. The manifest
carries a digest of those inputs, so a changed advisory list shows as stale.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path

from seamline.adapters.go_toolchain import GoToolchain
from seamline.adapters.registry import RegistryClient
from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.stack.model import ComponentStatus
from seamline.tools.process import run
from seamline.validate.image_ref import ImageRef

DB_LAYER_TYPE = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.aquasec.trivy.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INPUTS_ANNOTATION = "dev.seamline.trivy-db.inputs"


def pack_db(directory: Path) -> bytes:
    """db.tar.gz of trivy.db + metadata.json, byte-identical for identical inputs."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in ("trivy.db", "metadata.json"):
            data = (directory / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


class TrivyDbMirror:
    name = "trivy-db"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._source = settings.project_root / "mirror"
        self._registry = RegistryClient.for_url(settings.registry_url)
        reference = ImageRef.parse(settings.trivy_db())
        self.repository = reference.repository_in(settings.registry)
        self.tag = reference.tag_or_latest

    @property
    def advisories(self) -> Path:
        return self._settings.trivy_advisories or self._source / "advisories.json"

    def inputs_digest(self) -> str:
        sha = hashlib.sha256()
        builder = self._source / "trivy-db"
        sha.update(b"advisories.json\0" + self.advisories.read_bytes())
        for path in sorted(p for p in builder.rglob("*") if p.is_file()):
            sha.update(str(path.relative_to(self._source)).encode() + b"\0")
            sha.update(path.read_bytes())
        return "sha256:" + sha.hexdigest()

    def published_inputs(self) -> str | None:
        manifest = self._registry.manifest(self.repository, self.tag)
        if manifest is None:
            return None
        return str((manifest.get("annotations") or {}).get(INPUTS_ANNOTATION, ""))

    def status(self) -> ComponentStatus:
        if not self._registry.ping():
            return ComponentStatus(self.name, False, "registry down", "run `seamline stack up`")
        published = self.published_inputs()
        ref = self._settings.trivy_db()
        if published is None:
            return ComponentStatus(
                self.name, False, f"{ref} not published", "run `seamline stack up`"
            )
        if published != self.inputs_digest():
            return ComponentStatus(
                self.name,
                False,
                f"{ref} is stale: {self.advisories.name} changed",
                "run `seamline mirror trivy-db`",
            )
        return ComponentStatus(self.name, True, ref)

    def up(self) -> None:
        if self.published_inputs() != self.inputs_digest():
            self.publish()

    def publish(self) -> str:
        """Build the DB from the advisory list and push it; return the manifest digest."""
        self._check_advisories()
        work = self._settings.state_dir / "mirror"
        work.mkdir(parents=True, exist_ok=True)
        builder = work / "bin" / "trivydb-build"
        GoToolchain.located(self._settings.tools_dir).build_program(
            self._source / "trivy-db",
            builder,
            hint="the trivy DB builder needs the Go module proxy the first time",
        )
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            run(
                [str(builder), "-advisories", str(self.advisories), "-out", tmp],
                timeout=120,
                hint=f"fix {self.advisories} as the message says",
            )
            layer_data = pack_db(Path(tmp))
        layer = self._registry.push_blob(self.repository, layer_data, DB_LAYER_TYPE)
        config = self._registry.push_blob(self.repository, b"{}", CONFIG_TYPE)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": config.as_json(),
            "layers": [
                {**layer.as_json(), "annotations": {"org.opencontainers.image.title": "db.tar.gz"}}
            ],
            "annotations": {INPUTS_ANNOTATION: self.inputs_digest()},
        }
        return self._registry.put_manifest(self.repository, self.tag, manifest)

    def _check_advisories(self) -> None:
        try:
            entries = json.loads(self.advisories.read_text())
        except FileNotFoundError as e:
            raise UsageError(f"{self.advisories} is missing", hint="restore it from git") from e
        except json.JSONDecodeError as e:
            raise UsageError(
                f"{self.advisories} is not valid JSON: {e}", hint="fix the file and rerun"
            ) from e
        if not isinstance(entries, list) or not entries:
            raise UsageError(f"{self.advisories} must be a non-empty JSON list of advisories")

    def down(self) -> None:
        """Nothing runs."""
