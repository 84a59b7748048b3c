"""The BuildKit builder's command line, and what it reads from buildctl's recorded output
(BuildKit v0.34.2: a build's metadata file, and the stderr of failed builds)."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from seamline.adapters.buildkit import (
    BuildKit,
    build_argv,
    buildctl_env,
    failure,
    pushed_digest,
    worker_platform,
)
from seamline.adapters.docker_engine import DockerEngine
from seamline.adapters.toolbox import Toolbox
from seamline.config.settings import Settings
from seamline.errors import GateFailure, ServiceUnavailable, ToolFailed
from seamline.stack.buildkit_service import BuildkitService, buildkitd_config
from tests.unit.fakes import FakeRegistry

DATA = Path(__file__).resolve().parents[1] / "data" / "buildkit"
TAG = "127.0.0.1:5000/bookstore/catalog:bbbbbbbbbbbb"
ADDRESS = "unix:///state/buildkit/run/buildkitd.sock"


def _argv(
    dockerfile: str = "catalog/Dockerfile", add_hosts: dict[str, str] | None = None
) -> list[str]:
    return build_argv(
        buildctl="/tools/buildctl",
        context=Path("/src"),
        dockerfile=dockerfile,
        tag=TAG,
        build_args={"RUNTIME_IMAGE": "r/static:1", "GO_BUILDER_IMAGE": "r/go:1"},
        labels={"org.opencontainers.image.created": "2026-01-01T00:00:00+00:00"},
        source_date_epoch=1767225600,
        metadata_file=Path("/tmp/m.json"),
        add_hosts=add_hosts,
    )


def _options(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == flag]


def test_argv_builds_the_dockerfile_frontend_with_both_local_sources() -> None:
    argv = _argv()
    assert argv[:2] == ["/tools/buildctl", "build"]
    assert buildctl_env(ADDRESS) == {"BUILDKIT_HOST": ADDRESS}
    assert _options(argv, "--frontend") == ["dockerfile.v0"]
    assert _options(argv, "--local") == ["context=/src", "dockerfile=/src/catalog"]
    assert _options(argv, "--metadata-file") == ["/tmp/m.json"]
    assert "filename=Dockerfile" in _options(argv, "--opt")
    absolute = _argv("/elsewhere/build/Containerfile")
    assert "dockerfile=/elsewhere/build" in _options(absolute, "--local")
    assert "filename=Containerfile" in _options(absolute, "--opt")


def test_argv_is_reproducible_pushed_and_without_network_for_run_steps() -> None:
    options = _options(_argv(), "--opt")
    assert options[1:] == [
        "force-network-mode=none",
        "build-arg:GO_BUILDER_IMAGE=r/go:1",
        "build-arg:RUNTIME_IMAGE=r/static:1",
        "build-arg:SOURCE_DATE_EPOCH=1767225600",
        "label:org.opencontainers.image.created=2026-01-01T00:00:00+00:00",
    ]
    assert _options(_argv(), "--output") == [
        f"type=image,name={TAG},push=true,rewrite-timestamp=true"
    ]


def test_argv_with_hosts_uses_the_worker_s_network_and_names_the_proxy() -> None:
    options = _options(_argv(add_hosts={"goproxy.seamline.internal": "10.213.1.1"}), "--opt")
    assert "force-network-mode=none" not in options
    assert "add-hosts=goproxy.seamline.internal=10.213.1.1" in options


def test_argv_for_a_layout_writes_an_oci_folder_and_pushes_nothing() -> None:
    argv = build_argv(
        buildctl="/tools/buildctl",
        context=Path("/src"),
        dockerfile="catalog/Dockerfile",
        tag=TAG,
        build_args={},
        labels={},
        source_date_epoch=1767225600,
        metadata_file=Path("/tmp/m.json"),
        layout=Path("/tmp/layout"),
    )
    assert _options(argv, "--output") == [
        "type=oci,dest=/tmp/layout,tar=false,rewrite-timestamp=true"
    ]
    assert "build-arg:SOURCE_DATE_EPOCH=1767225600" in _options(argv, "--opt")


def test_digest_comes_from_the_recorded_metadata_file() -> None:
    metadata = (DATA / "metadata-v0.34.2.json").read_text()
    expected = json.loads(metadata)["containerimage.descriptor"]["digest"]
    assert pushed_digest(metadata, TAG) == expected


@pytest.mark.parametrize("text", ["not json", "{}", '{"containerimage.digest": "sha256:12"}'])
def test_metadata_without_a_digest_is_a_tool_failure(text: str) -> None:
    with pytest.raises(ToolFailed, match=TAG):
        pushed_digest(text, TAG)


def _stderr(kind: str) -> str:
    return (DATA / f"buildctl-{kind}-v0.34.2.stderr").read_text()


def test_a_failing_run_step_is_the_dockerfiles_fault() -> None:
    error = failure(TAG, _stderr("fail"), address=ADDRESS)
    assert isinstance(error, GateFailure)
    assert 'process "/bin/sh -c echo compiling; false" did not complete' in error.message
    assert "`buildctl build` reproduces it" in error.hint


def test_an_unreachable_base_image_is_the_environment() -> None:
    error = failure(TAG, _stderr("nobase"), address=ADDRESS)
    assert isinstance(error, ToolFailed) and error.exit_code == 3
    assert "could not get a base image" in error.message
    assert "gcr.io/distroless/static:nonroot" in error.message


def test_no_buildkitd_is_a_service_problem() -> None:
    error = failure(TAG, _stderr("down"), address=ADDRESS)
    assert isinstance(error, ServiceUnavailable) and error.exit_code == 3
    assert ADDRESS in error.message
    assert "SEAMLINE_IMAGE_BUILDER=docker" in error.hint


def test_a_refused_push_is_transient() -> None:
    error = failure(TAG, _stderr("push"), address=ADDRESS)
    assert isinstance(error, ToolFailed) and error.transient
    assert "could not push" in error.message


def _builder(buildctl: Path, registry: FakeRegistry | None = None) -> BuildKit:
    return BuildKit(
        buildctl=buildctl,
        address=ADDRESS,
        registry=registry or FakeRegistry({}),
        registry_host="127.0.0.1:5000",
    )


def _script(tmp_path: Path, body: str) -> Path:
    """A stand-in buildctl run by the real process runner."""
    script = tmp_path / "buildctl"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_the_platform_is_the_first_one_buildkitds_worker_lists() -> None:
    assert worker_platform((DATA / "workers-v0.34.2.json").read_text()) == {
        "BUILDPLATFORM": "linux/amd64",
        "BUILDOS": "linux",
        "BUILDARCH": "amd64",
        "TARGETPLATFORM": "linux/amd64",
        "TARGETOS": "linux",
        "TARGETARCH": "amd64",
    }
    with pytest.raises(ToolFailed, match="no worker platform"):
        worker_platform("[]")


def test_platform_asks_buildkitd_and_sets_the_platform_args_itself(tmp_path: Path) -> None:
    workers = DATA / "workers-v0.34.2.json"
    builder = _builder(_script(tmp_path, f'[ "$BUILDKIT_HOST" = "{ADDRESS}" ] && cat {workers}'))
    assert builder.platform()["BUILDPLATFORM"] == "linux/amd64"
    assert builder.sets_platform_args
    down = DATA / "workers-down-v0.34.2.stderr"
    with pytest.raises(ServiceUnavailable, match="no buildkitd answers"):
        _builder(_script(tmp_path, f"cat {down} >&2; exit 1")).platform()


_OCI_BUILDCTL = """
while [ $# -gt 0 ]; do
  case "$1" in
    --metadata-file) meta="$2"; shift ;;
    --output) out="$2"; shift ;;
  esac
  shift
done
dest=$(echo "$out" | sed -n 's/^type=oci,dest=\\([^,]*\\),tar=false.*/\\1/p')
[ -n "$dest" ] || exit 1
mkdir -p "$dest/blobs/sha256"
{blob}
printf '{{"containerimage.digest": "sha256:{hex}"}}' > "$meta"
"""


@pytest.mark.parametrize("writes_blob", [True, False])
def test_a_layout_build_writes_the_folder_and_reads_the_digest_it_holds(
    tmp_path: Path, writes_blob: bool
) -> None:
    hex_ = "5" * 64
    blob = f"echo '{{}}' > \"$dest/blobs/sha256/{hex_}\"" if writes_blob else ""
    builder = _builder(_script(tmp_path, _OCI_BUILDCTL.format(blob=blob, hex=hex_)))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    layout = tmp_path / "layouts" / "run-1" / "catalog"

    def build() -> str:
        return builder.build(
            context=tmp_path, dockerfile="Dockerfile", tag=TAG, build_args={}, layout=layout
        )

    if writes_blob:
        assert build() == "sha256:" + hex_
        assert (layout / "blobs" / "sha256" / hex_).is_file()
    else:
        with pytest.raises(ToolFailed, match="lacks it"):
            build()


def test_a_release_builds_its_last_stage_and_a_rebuild_everything_anew(
    tmp_path: Path,
) -> None:
    """A cached step keeps the file times of the build that made it, which may predate the
    commit: a release builds the stage it names without the cache (the stages before keep
    theirs, cache mounts included), a rebuild builds every step anew, a pull request's
    layout uses the cache."""
    calls = tmp_path / "calls"
    hex_ = "6" * 64
    body = f'echo "$@" >> {calls}\n' + _OCI_BUILDCTL.format(
        blob=f"echo '{{}}' > \"$dest/blobs/sha256/{hex_}\"", hex=hex_
    ).replace('[ -n "$dest" ] || exit 1', "dest=${dest:-$(mktemp -d)}")
    builder = _builder(_script(tmp_path, body))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    common = {"context": tmp_path, "dockerfile": "Dockerfile", "build_args": {}}
    builder.build(**common, tag=TAG, fresh_stage="seamline-final")
    builder.build(**common, tag=TAG, layout=tmp_path / "pr")
    builder.build_layout(**common, layout=tmp_path / "rebuild", labels={}, source_date_epoch=1)
    released, pull_request, rebuilt = (line.split() for line in calls.read_text().splitlines())
    assert "no-cache=seamline-final" in _options(released, "--opt")
    assert "--no-cache" not in released
    assert "--no-cache" not in pull_request
    assert not any(o.startswith("no-cache") for o in _options(pull_request, "--opt"))
    assert "--no-cache" in rebuilt


def test_it_holds_only_what_the_registry_it_pushes_to_serves() -> None:
    digest = "sha256:" + "6" * 64
    builder = _builder(Path("/tools/buildctl"), FakeRegistry({("mirror/golang", "1.26"): digest}))
    assert builder.has_image("127.0.0.1:5000/mirror/golang:1.26")
    assert not builder.has_image("127.0.0.1:5000/mirror/golang:1.27")
    assert not builder.has_image("golang:1.26")  # Docker Hub: the Internet
    assert not builder.has_image("127.0.0.1:5001/mirror/golang:1.26")


def test_push_reads_back_what_the_registry_holds() -> None:
    digest = "sha256:" + "5" * 64
    registry = FakeRegistry({("bookstore/catalog", "bbbbbbbbbbbb"): digest})
    builder = _builder(Path("/tools/buildctl"), registry)
    assert builder.pushes
    assert builder.push(TAG) == digest
    with pytest.raises(ToolFailed, match="holds no"):
        builder.push("127.0.0.1:5000/bookstore/orders:bbbbbbbbbbbb")


def test_daemon_config_lets_it_reach_the_settings_registry_over_http() -> None:
    config = tomllib.loads(buildkitd_config(registry="127.0.0.1:5100", root=Path("/s/root")))
    assert config["registry"] == {"127.0.0.1:5100": {"http": True}}
    assert config["root"] == "/s/root"
    assert config["worker"]["oci"]["enabled"] and not config["worker"]["containerd"]["enabled"]
    assert "networkMode" not in config["worker"]["oci"]


def test_daemon_config_puts_runs_on_the_cni_bridge_it_names() -> None:
    text = buildkitd_config(
        registry="127.0.0.1:5100", root=Path("/s/root"), cni_config=Path("/s/cni/b.json")
    )
    oci = tomllib.loads(text)["worker"]["oci"]
    assert oci["networkMode"] == "cni" and oci["cniConfigPath"] == "/s/cni/b.json"
    assert oci["cniBinaryPath"] == "/usr/lib/cni"


def test_docker_is_chosen_by_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEAMLINE_IMAGE_BUILDER", "docker")
    settings = Settings(state_dir=tmp_path / "state", tools_dir=tmp_path)
    assert settings.image_builder == "docker"
    assert not DockerEngine.pushes and not DockerEngine.sets_platform_args
    assert settings.buildkit_address() == f"unix://{tmp_path}/state/buildkit/run/buildkitd.sock"
    status = BuildkitService(settings).status()
    assert status.healthy and "not used" in status.detail


def test_buildkit_is_the_default_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    buildctl = tmp_path / "buildctl"
    buildctl.write_text("#!/bin/sh\nexit 1\n")
    buildctl.chmod(buildctl.stat().st_mode | stat.S_IEXEC)
    monkeypatch.delenv("SEAMLINE_IMAGE_BUILDER", raising=False)
    monkeypatch.setenv("SEAMLINE_BUILDKIT_HOST", "tcp://127.0.0.1:1234")
    settings = Settings(state_dir=tmp_path / "state", tools_dir=tmp_path)
    builder = Toolbox(settings).image_builder()
    try:
        assert isinstance(builder, BuildKit) and builder.pushes
    finally:
        builder.close()
    status = BuildkitService(settings).status()  # this buildctl never answers
    assert not status.healthy and "SEAMLINE_BUILDKIT_HOST" in status.hint
