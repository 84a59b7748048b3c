"""Which request paths the module proxy answers, checked strictly: build steps are
untrusted, and a path becomes a file name in the cache and a URL upstream.

A path is one of the GOPROXY protocol's (``/<module>/@v/list``, ``/<module>/@v/<version>
.info|.mod|.zip``, ``/<module>/@latest``; ``.info`` also for a query such as a branch) or
the checksum database proxy's (``/sumdb/<name>/supported|latest|lookup/...|tile/...``);
the module path and version in their escaped form (an upper-case letter is ``!`` and its
lower case), as the go command sends them. Anything else is refused before any file or
upstream is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

MAX_PATH = 512
MAX_MODULE = 300
MAX_VERSION = 128
# One element of an escaped module path: Go's module.CheckPath characters, upper case
# written as "!" and the lower-case letter; no leading dot.
_ELEMENT = re.compile(r"^(?:[a-z0-9_~-]|![a-z])(?:[a-z0-9._~-]|![a-z])*$")
# The first element is a host name: lower case, a dot inside, no leading dash.
_HOST = re.compile(r"^[a-z0-9][a-z0-9.-]*\.[a-z0-9.-]*[a-z0-9]$")
# A semantic version (pseudo-versions and +incompatible included), escaped.
_VERSION = re.compile(
    r"^v(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
    r"(?:-(?:[0-9a-z-]|![a-z])+(?:\.(?:[0-9a-z-]|![a-z])+)*)?"
    r"(?:\+(?:[0-9a-z-]|![a-z])+(?:\.(?:[0-9a-z-]|![a-z])+)*)?$"
)
# A checksum database tile: tile/H/L/NNN (NNN as x001/x234/567), ".p/W" when partial.
_TILE = re.compile(
    r"^tile/[1-9][0-9]?/(?:data|[0-9]{1,2})/(?:x[0-9]{3}/){0,8}[0-9]{3}(\.p/[1-9][0-9]{0,2})?$"
)
# A version query the go command resolves with ``.info`` (a branch, a commit, "v1.6"):
# answered, never cached, since what it names moves.
_QUERY = re.compile(r"^(?:[a-z0-9]|![a-z])(?:[a-z0-9._-]|![a-z]){0,127}$")
CACHED_SUFFIXES = (".info", ".mod", ".zip")


class Kind(Enum):
    LIST = "list"
    LATEST = "latest"
    INFO = "info"
    MOD = "mod"
    ZIP = "zip"
    SUMDB = "sumdb"


class BadPath(ValueError):
    """The path is none the proxy serves (answered 404) or is malformed (400)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ProxyPath:
    """A checked request path: what it asks for, and whether its answer never changes
    (so it may be kept in the cache under ``path``, relative, without a leading slash)."""

    kind: Kind
    path: str
    immutable: bool


def check_module(escaped: str) -> str:
    """An escaped module path, or BadPath."""
    if not escaped or len(escaped) > MAX_MODULE:
        raise BadPath("module path empty or too long")
    elements = escaped.split("/")
    if not _HOST.match(elements[0]) or ".." in elements[0]:
        raise BadPath("module path must start with a host name")
    for element in elements[1:]:
        if not _ELEMENT.match(element) or element.endswith(".") or ".." in element:
            raise BadPath("bad module path element")
    return escaped


def check_version(escaped: str) -> str:
    if len(escaped) > MAX_VERSION or not _VERSION.match(escaped):
        raise BadPath("bad version")
    return escaped


def parse(raw: str, *, sumdbs: frozenset[str]) -> ProxyPath:
    """The checked form of a request's path; ``sumdbs`` names the checksum databases the
    proxy passes through (``sum.golang.org``)."""
    if len(raw) > MAX_PATH:
        raise BadPath("path too long")
    if not raw.startswith("/") or raw.startswith("//"):
        raise BadPath("path must be absolute")
    if any(c in raw for c in "?#%\\") or any(ord(c) < 0x21 or ord(c) > 0x7E for c in raw):
        raise BadPath("path holds characters a Go module proxy path never has")
    path = raw[1:]
    if "//" in path or path.endswith("/") or any(p in (".", "..") for p in path.split("/")):
        raise BadPath("path has empty, . or .. elements")
    if path.startswith("sumdb/"):
        return _sumdb(path, sumdbs)
    if path.endswith("/@latest"):
        check_module(path.removesuffix("/@latest"))
        return ProxyPath(Kind.LATEST, path, immutable=False)
    module, found, rest = path.rpartition("/@v/")
    if not found:
        raise BadPath("not a module proxy path", status=404)
    check_module(module)
    if rest == "list":
        return ProxyPath(Kind.LIST, path, immutable=False)
    for suffix in CACHED_SUFFIXES:
        if rest.endswith(suffix):
            version = rest.removesuffix(suffix)
            if suffix == ".info" and not _VERSION.match(version):
                if not _QUERY.match(version) or ".." in version:
                    raise BadPath("bad version query")
                return ProxyPath(Kind.INFO, path, immutable=False)
            check_version(version)
            return ProxyPath(Kind(suffix[1:]), path, immutable=True)
    raise BadPath("not a module proxy path", status=404)


def _sumdb(path: str, sumdbs: frozenset[str]) -> ProxyPath:
    _, name, rest = path.split("/", 2) if path.count("/") >= 2 else (path, "", "")
    if name not in sumdbs:
        raise BadPath("no such checksum database", status=404)
    if rest in ("supported", "latest"):
        return ProxyPath(Kind.SUMDB, path, immutable=False)
    if rest.startswith("lookup/"):
        module, at, version = rest.removeprefix("lookup/").rpartition("@")
        if not at:
            raise BadPath("bad checksum database lookup")
        check_module(module)
        check_version(version)
        return ProxyPath(Kind.SUMDB, path, immutable=False)
    tile = _TILE.match(rest)
    if tile is None:
        raise BadPath("not a checksum database path", status=404)
    return ProxyPath(Kind.SUMDB, path, immutable=tile.group(1) is None)
