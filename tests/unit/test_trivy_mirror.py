from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from seamline.config.settings import Settings
from seamline.errors import UsageError
from seamline.stack.trivy_mirror import TrivyDbMirror, pack_db


def test_mirror_publishes_to_its_repository_in_the_local_registry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    mirror = TrivyDbMirror(Settings(registry_port=5001))
    assert (mirror.repository, mirror.tag) == ("seamline/trivy-db", "2")
    with pytest.raises(UsageError, match="not in the registry"):
        TrivyDbMirror(Settings(trivy_db_repository="mirror.gcr.io/aquasec/trivy-db:2"))


def test_pack_db_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "trivy.db").write_bytes(b"bolt")
    (tmp_path / "metadata.json").write_text('{"Version": 2}')
    first, second = pack_db(tmp_path), pack_db(tmp_path)
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as tar:
        assert tar.getnames() == ["trivy.db", "metadata.json"]
