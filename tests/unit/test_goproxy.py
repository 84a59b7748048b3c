"""The module proxy builds reach: which paths it takes (build steps are untrusted), what it
keeps in its cache, and what it passes on; the upstream is an ``httpx.MockTransport``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from seamline.adapters.toolbox import Toolbox
from seamline.config.build_network import BUILDKIT_BRIDGE, DOCKER_BRIDGE, proxy_url
from seamline.config.settings import Settings
from seamline.goproxy.paths import BadPath, Kind, parse
from seamline.goproxy.server import GoProxy, upstream_id
from seamline.stack.build_network import cni_config, fence_rules

pytestmark = pytest.mark.unit

SUMDBS = frozenset({"sum.golang.org"})
UPSTREAM = "https://proxy.example.test"
INFO = b'{"Version":"v1.6.0","Time":"2024-01-23T18:54:04Z"}'


@pytest.mark.parametrize(
    ("path", "kind", "immutable"),
    [
        ("/github.com/google/uuid/@v/list", Kind.LIST, False),
        ("/github.com/google/uuid/@v/v1.6.0.info", Kind.INFO, True),
        ("/github.com/google/uuid/@v/v1.6.0.mod", Kind.MOD, True),
        ("/github.com/google/uuid/@v/v1.6.0.zip", Kind.ZIP, True),
        ("/github.com/google/uuid/@latest", Kind.LATEST, False),
        ("/github.com/!burnt!sushi/toml/@v/v1.3.2.zip", Kind.ZIP, True),
        ("/golang.org/x/net/@v/v0.0.0-20240101000000-abcdef123456.mod", Kind.MOD, True),
        ("/github.com/docker/docker/@v/v24.0.7+incompatible.info", Kind.INFO, True),
        ("/gopkg.in/yaml.v3/@v/v3.0.1.mod", Kind.MOD, True),
        ("/github.com/google/uuid/@v/master.info", Kind.INFO, False),
        ("/github.com/google/uuid/@v/v1.6.info", Kind.INFO, False),
        ("/github.com/google/uuid/@v/0cd6bf5d.info", Kind.INFO, False),
        ("/sumdb/sum.golang.org/supported", Kind.SUMDB, False),
        ("/sumdb/sum.golang.org/latest", Kind.SUMDB, False),
        ("/sumdb/sum.golang.org/lookup/github.com/google/uuid@v1.6.0", Kind.SUMDB, False),
        ("/sumdb/sum.golang.org/tile/8/0/x086/534", Kind.SUMDB, True),
        ("/sumdb/sum.golang.org/tile/8/data/x086/534", Kind.SUMDB, True),
        ("/sumdb/sum.golang.org/tile/8/2/003.p/244", Kind.SUMDB, False),
    ],
)
def test_the_paths_go_sends_are_taken(path: str, kind: Kind, immutable: bool) -> None:
    checked = parse(path, sumdbs=SUMDBS)
    assert (checked.kind, checked.immutable, checked.path) == (kind, immutable, path[1:])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("github.com/google/uuid/@v/list", 400),  # not absolute
        ("//etc/passwd/@v/list", 400),
        ("/../../etc/passwd/@v/v1.0.0.info", 400),
        ("/github.com/../../etc/@v/v1.0.0.info", 400),
        ("/github.com/google/uuid/@v/../../../x.zip", 400),
        ("/github.com/./uuid/@v/list", 400),
        ("/github.com//uuid/@v/list", 400),
        ("/github.com/Google/uuid/@v/list", 400),  # upper case must come escaped
        ("/github.com/google/uuid/@v/v1.6.0.zip?x=1", 400),
        ("/github.com/google/uuid/@v/v1.6.0%2e.zip", 400),
        ("/github.com/google/uuid/@v/v1.6.0\\x.zip", 400),
        ("/github.com/google/uu id/@v/list", 400),
        ("/github.com/google/uuid/@v/1.6.0.zip", 400),  # no v
        ("/github.com/google/uuid/@v/v1.6.zip", 400),
        ("/github.com/google/uuid/@v/master.mod", 400),  # only a version has a go.mod
        ("/github.com/google/uuid/@v/.hidden.info", 400),
        ("/github.com/google/uuid/@v/a..b.info", 400),
        ("/github.com/google/uuid/@v/Master.info", 400),
        ("/github.com/google/uuid/@v/v1.6.0.tar", 404),
        ("/localhost/x/@v/list", 400),  # the first element is a host name with a dot
        ("/-github.com/x/@v/list", 400),
        ("/github.com/google/.uuid/@v/list", 400),
        ("/github.com/google/uuid./@v/list", 400),
        ("/" + "a" * 600 + ".com/x/@v/list", 400),
        ("/github.com/google/uuid", 404),
        ("/etc/passwd", 404),
        ("/", 404),
        ("/sumdb/sum.example.org/supported", 404),  # not a checksum database it passes
        ("/sumdb/sum.golang.org/lookup/../../x@v1.0.0", 400),
        ("/sumdb/sum.golang.org/tile/8/0/../../../etc/passwd", 400),
        ("/sumdb/sum.golang.org/tile/8/0/12", 404),
        ("/sumdb/sum.golang.org/anything", 404),
    ],
)
def test_anything_else_is_refused(path: str, status: int) -> None:
    with pytest.raises(BadPath) as refused:
        parse(path, sumdbs=SUMDBS)
    assert refused.value.status == status


class Upstream:
    """A fake upstream proxy that counts what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.files: dict[str, tuple[int, bytes]] = {
            "/github.com/google/uuid/@v/v1.6.0.info": (200, INFO),
            "/github.com/google/uuid/@v/v1.6.0.zip": (200, b"PK\x03\x04zip"),
            "/github.com/google/uuid/@v/list": (200, b"v1.5.0\nv1.6.0\n"),
            "/github.com/google/uuid/@v/v9.9.9.info": (404, b"not found: unknown revision"),
            "/github.com/google/uuid/@v/v1.0.0.mod": (500, b"boom /secret/upstream/path"),
            "/sumdb/sum.golang.org/supported": (200, b""),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url.path)
        status, body = self.files.get(request.url.path, (404, b"not found"))
        return httpx.Response(status, content=body)


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
def proxy(upstream: Upstream, tmp_path: Path) -> GoProxy:
    client = httpx.Client(transport=httpx.MockTransport(upstream))
    return GoProxy(upstream=UPSTREAM + "/", cache_dir=tmp_path / "cache", client=client)


def test_a_version_is_fetched_once_then_served_from_the_cache(
    proxy: GoProxy, upstream: Upstream, tmp_path: Path
) -> None:
    path = "/github.com/google/uuid/@v/v1.6.0.zip"
    first, second = proxy.respond(path), proxy.respond(path)
    assert upstream.asked == [path]
    cached = tmp_path / "cache" / "github.com/google/uuid/@v/v1.6.0.zip"
    assert first.status == second.status == 200
    assert first.file == second.file == cached.resolve()
    assert cached.read_bytes() == b"PK\x03\x04zip"
    assert first.content_type == "application/zip"
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".fetch-")]


def test_lists_and_the_checksum_database_pass_through_uncached(
    proxy: GoProxy, upstream: Upstream, tmp_path: Path
) -> None:
    for _ in range(2):
        answer = proxy.respond("/github.com/google/uuid/@v/list")
        assert (answer.status, answer.body) == (200, b"v1.5.0\nv1.6.0\n")
    assert proxy.respond("/sumdb/sum.golang.org/supported").status == 200
    assert upstream.asked.count("/github.com/google/uuid/@v/list") == 2
    assert not (tmp_path / "cache" / "github.com/google/uuid/@v/list").exists()


def test_not_found_upstream_is_not_found_here_and_not_cached(
    proxy: GoProxy, upstream: Upstream, tmp_path: Path
) -> None:
    answer = proxy.respond("/github.com/google/uuid/@v/v9.9.9.info")
    assert (answer.status, answer.body) == (404, b"not found: unknown revision")
    folder = tmp_path / "cache" / "github.com/google/uuid/@v"
    assert not any(folder.iterdir())


def test_an_upstream_error_is_a_bad_gateway_that_says_nothing_of_the_upstream(
    proxy: GoProxy,
) -> None:
    answer = proxy.respond("/github.com/google/uuid/@v/v1.0.0.mod")
    assert answer.status == 502
    assert b"secret" not in answer.body and b"example" not in answer.body


def test_an_unreachable_upstream_is_a_bad_gateway(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.Client(transport=httpx.MockTransport(down))
    proxy = GoProxy(upstream=UPSTREAM, cache_dir=tmp_path, client=client)
    assert proxy.respond("/github.com/google/uuid/@v/v1.6.0.zip").status == 502
    assert proxy.respond("/github.com/google/uuid/@v/list").status == 502
    assert list(tmp_path.rglob("*.zip")) == []


def test_a_refused_path_never_reaches_the_upstream(proxy: GoProxy, upstream: Upstream) -> None:
    for path in ("/../etc/passwd", "/github.com/x/@v/v1.0.0.zip?a", "/sumdb/evil.org/latest"):
        assert proxy.respond(path).status in (400, 404)
    assert upstream.asked == []


def test_health_names_the_upstream_only_by_a_digest(proxy: GoProxy, tmp_path: Path) -> None:
    text = json.dumps(proxy.health())
    assert UPSTREAM not in text and "example" not in text and str(tmp_path) not in text
    assert proxy.health()["upstream"] == upstream_id(UPSTREAM)


def test_the_fence_accepts_the_proxy_port_on_the_gateway_and_rejects_the_rest() -> None:
    rules = fence_rules(DOCKER_BRIDGE, 8089)
    assert rules[1] == "-A SL-sl-build0 -d 10.213.0.1/32 -p tcp -m tcp --dport 8089 -j ACCEPT"
    assert rules[2:] == [
        "-A SL-sl-build0 -p tcp -j REJECT --reject-with tcp-reset",
        "-A SL-sl-build0 -j REJECT --reject-with icmp-port-unreachable",
    ]
    assert not any("DROP" in rule for rule in rules)


def test_buildkit_s_bridge_has_no_route_out_and_no_masquerading(tmp_path: Path) -> None:
    config = json.loads(cni_config(BUILDKIT_BRIDGE, ipam_dir=tmp_path))
    assert config["bridge"] == "sl-build1"
    assert (config["isGateway"], config["ipMasq"]) == (False, False)
    assert "routes" not in config["ipam"]
    assert config["ipam"]["ranges"] == [[{"subnet": "10.213.1.0/24", "gateway": "10.213.1.1"}]]
    assert proxy_url(8089) == "http://goproxy.seamline.internal:8089"


def test_only_the_stack_s_own_buildkitd_runs_steps_on_the_fenced_bridge(tmp_path: Path) -> None:
    own = Toolbox(Settings(state_dir=tmp_path))
    assert own._buildkit_hosts() == {"goproxy.seamline.internal": "10.213.1.1"}
    elsewhere = Toolbox(Settings(state_dir=tmp_path, buildkit_host="tcp://builder:1234"))
    assert elsewhere._buildkit_hosts() is None
    off = Toolbox(Settings(state_dir=tmp_path, goproxy=False))
    assert off._buildkit_hosts() is None


@pytest.mark.parametrize(
    "upstream", ["ftp://proxy.example", "https://user:pw@proxy.example", "https://p.example/?q=1"]
)
def test_the_upstream_is_a_plain_http_url(upstream: str) -> None:
    with pytest.raises(ValueError, match="upstream"):
        Settings(goproxy_upstream=upstream)
