from __future__ import annotations

import tarfile
from pathlib import Path

from seamline.stack.rootfs import write_go_builder_rootfs, write_static_rootfs


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    zoneinfo = tmp_path / "zoneinfo"
    (zoneinfo / "Europe").mkdir(parents=True)
    (zoneinfo / "Europe" / "Berlin").write_bytes(b"TZif")
    return ca, zoneinfo


def test_static_rootfs_is_nonroot_without_shell(tmp_path: Path) -> None:
    ca, zoneinfo = _inputs(tmp_path)
    out = tmp_path / "rootfs.tar"
    write_static_rootfs(out, ca_bundle=ca, zoneinfo=zoneinfo)
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        passwd = tar.extractfile("etc/passwd").read().decode()  # type: ignore[union-attr]
        home = tar.getmember("home/nonroot")
        tmp = tar.getmember("tmp")
    assert "nonroot:x:65532:65532" in passwd
    assert home.uid == 65532
    assert tmp.mode == 0o1777
    assert {"etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/Europe/Berlin"} <= names
    assert not any(n.startswith("bin") for n in names)


def test_go_builder_has_toolchain_and_shell(tmp_path: Path) -> None:
    ca, _ = _inputs(tmp_path)
    goroot = tmp_path / "go"
    (goroot / "bin").mkdir(parents=True)
    (goroot / "bin" / "go").write_text("go")
    (goroot / "test").mkdir()
    busybox = tmp_path / "busybox"
    busybox.write_text("bb")
    gocache = tmp_path / "gocache"
    (gocache / "0a").mkdir(parents=True)
    (gocache / "0a" / "0a1b-d").write_bytes(b"compiled")
    out = tmp_path / "go.tar"
    write_go_builder_rootfs(
        out,
        goroot=goroot,
        busybox=busybox,
        applets=["busybox", "sh", "ls"],
        ca_bundle=ca,
        gocache=gocache,
    )
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        sh = tar.getmember("bin/sh")
    assert {"usr/local/go/bin/go", "bin/busybox", "bin/ls"} <= names
    assert "root/.cache/go-build/0a/0a1b-d" in names
    assert sh.issym() and sh.linkname == "busybox"
    assert "usr/local/go/test" not in names
