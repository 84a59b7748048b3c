"""Root filesystems for the mirrored base images, written as tarballs for `docker import`."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

NONROOT_UID = 65532

PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"nonroot:x:{NONROOT_UID}:{NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = f"root:x:0:\nnonroot:x:{NONROOT_UID}:\n"
GOROOT_SKIP = {"test", "doc", "misc", "api"}
BUILDER_GOCACHE = "/root/.cache/go-build"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755, uid: int = 0) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid = info.gid = uid
    tar.addfile(info)


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def _add_common(tar: tarfile.TarFile, ca_bundle: Path) -> None:
    for d in ("etc", "etc/ssl", "etc/ssl/certs", "home", "root", "usr", "usr/share"):
        _add_dir(tar, d)
    _add_dir(tar, "tmp", mode=0o1777)
    _add_dir(tar, "home/nonroot", mode=0o700, uid=NONROOT_UID)
    _add_bytes(tar, "etc/passwd", PASSWD.encode())
    _add_bytes(tar, "etc/group", GROUP.encode())
    _add_bytes(tar, "etc/nsswitch.conf", b"hosts: files dns\n")
    tar.add(str(ca_bundle), "etc/ssl/certs/ca-certificates.crt", recursive=False)


def write_static_rootfs(dest: Path, *, ca_bundle: Path, zoneinfo: Path) -> None:
    """A distroless-style runtime: no shell, a non-root user, CA certificates and tzdata."""
    with tarfile.open(dest, "w") as tar:
        _add_common(tar, ca_bundle)
        tar.add(str(zoneinfo), "usr/share/zoneinfo")


def write_go_builder_rootfs(
    dest: Path,
    *,
    goroot: Path,
    busybox: Path,
    applets: list[str],
    ca_bundle: Path,
    gocache: Path | None = None,
) -> None:
    """The Go toolchain at /usr/local/go plus a static busybox as the shell for `RUN`,
    and, when given, a Go build cache at BUILDER_GOCACHE."""
    with tarfile.open(dest, "w") as tar:
        _add_common(tar, ca_bundle)
        for d in ("bin", "usr/bin", "usr/local", "go", "src"):
            _add_dir(tar, d)
        tar.add(str(busybox), "bin/busybox")
        for applet in applets:
            if applet != "busybox":
                _add_symlink(tar, f"bin/{applet}", "busybox")
        _add_dir(tar, "usr/local/go")
        for entry in sorted(goroot.iterdir()):
            if entry.name not in GOROOT_SKIP:
                tar.add(str(entry), f"usr/local/go/{entry.name}")
        if gocache is not None:
            _add_dir(tar, "root/.cache")
            tar.add(str(gocache), BUILDER_GOCACHE.lstrip("/"))
