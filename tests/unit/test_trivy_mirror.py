from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from seamline.adapters.registry import split_reference
from seamline.errors import UsageError
from seamline.stack.trivy_mirror import pack_db


def test_split_reference() -> None:
    assert split_reference("127.0.0.1:5000/seamline/trivy-db:2", "127.0.0.1:5000") == (
        "seamline/trivy-db",
        "2",
    )
    with pytest.raises(UsageError, match="not in the registry"):
        split_reference("mirror.gcr.io/aquasec/trivy-db:2", "127.0.0.1:5000")


def test_pack_db_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "trivy.db").write_bytes(b"bolt")
    (tmp_path / "metadata.json").write_text('{"Version": 2}')
    first, second = pack_db(tmp_path), pack_db(tmp_path)
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as tar:
        assert tar.getnames() == ["trivy.db", "metadata.json"]
