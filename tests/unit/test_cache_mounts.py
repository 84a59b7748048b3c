"""An untrusted build's cache mounts never share an id with a release's: every form of
``RUN --mount=type=cache`` BuildKit reads gets its id under ``seamline-untrusted/``, what
seamline cannot read with certainty is refused, and releases keep their own ids."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import pytest

from seamline.bases.cache_mounts import namespace_cache_mounts, refuse
from seamline.bases.mapping import BaseImageMap
from seamline.bases.rewrite import build_copy
from seamline.config.pipeline import PipelineConfig, load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError
from tasks import image
from tasks.preflight import build_copies, check_cache_mounts
from tests.unit.fakes import FakeBuilder
from tests.unit.test_release_output import BOOKSTORE, _ctx

NS = "seamline-untrusted"
WILD = PROJECT_ROOT / "tests" / "fixtures" / "wild-repo" / "services" / "checkout" / "Dockerfile"


def rewritten(text: str) -> str:
    result = namespace_cache_mounts(text)
    assert result.refusals == ()
    return result.text


def refused(text: str) -> str:
    result = namespace_cache_mounts(text)
    assert result.text == text
    assert len(result.refusals) == 1
    return result.refusals[0]


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            "RUN --mount=type=cache,target=/root/.cache/go-build go build",
            f"RUN --mount=type=cache,target=/root/.cache/go-build,id={NS}/root/.cache/go-build"
            " go build",
        ),
        (  # options in any order, keys in any case
            "RUN --mount=target=/x,TYPE=Cache go build",
            f"RUN --mount=target=/x,TYPE=Cache,id={NS}/x go build",
        ),
        (  # an id of its own: kept, under the namespace
            "RUN --mount=type=cache,id=gomod,target=/go/pkg/mod go mod download",
            f"RUN --mount=type=cache,target=/go/pkg/mod,id={NS}/gomod go mod download",
        ),
        (  # the last id wins, as in BuildKit; an empty one falls back to the target
            "RUN --mount=type=cache,id=a,id=b,target=/x true",
            f"RUN --mount=type=cache,target=/x,id={NS}/b true",
        ),
        (
            "RUN --mount=type=cache,id=a,id=,target=/x true",
            f"RUN --mount=type=cache,target=/x,id={NS}/x true",
        ),
        (  # sharing, from and source stay as written
            "RUN --mount=type=cache,target=/x,sharing=locked,from=seed,source=/s,uid=1 true",
            f"RUN --mount=type=cache,target=/x,sharing=locked,from=seed,source=/s,uid=1,id={NS}/x"
            " true",
        ),
        (  # ARG-expanded id and target: the prefix is literal, so the result is namespaced
            "RUN --mount=type=cache,id=${CACHE},target=/x true",
            f"RUN --mount=type=cache,target=/x,id={NS}/${{CACHE}} true",
        ),
        (
            "RUN --mount=type=cache,dst=$DIR true",
            f"RUN --mount=type=cache,dst=$DIR,id={NS}/$DIR true",
        ),
        (  # a relative target
            "RUN --mount=type=cache,target=cache true",
            f"RUN --mount=type=cache,target=cache,id={NS}/cache true",
        ),
        (  # lowercase run, the JSON form, other flags around it
            'run --network=none --mount=type=cache,target=/x ["go", "build"]',
            f'run --network=none --mount=type=cache,target=/x,id={NS}/x ["go", "build"]',
        ),
        (  # a flag's value after a space
            "RUN --mount type=cache,target=/x true",
            f"RUN --mount=type=cache,target=/x,id={NS}/x true",
        ),
        (  # several mounts: only the cache ones change
            "RUN --mount=type=bind,target=/src --mount=type=cache,target=/a "
            "--mount=type=secret,id=token --mount=type=cache,target=/b true",
            f"RUN --mount=type=bind,target=/src --mount=type=cache,target=/a,id={NS}/a "
            f"--mount=type=secret,id=token --mount=type=cache,target=/b,id={NS}/b true",
        ),
        (  # the last type wins
            "RUN --mount=type=bind,type=cache,target=/x true",
            f"RUN --mount=type=bind,type=cache,target=/x,id={NS}/x true",
        ),
        (  # an ONBUILD trigger runs in a stage built FROM this one
            "ONBUILD RUN --mount=type=cache,target=/x true",
            f"ONBUILD RUN --mount=type=cache,target=/x,id={NS}/x true",
        ),
    ],
)
def test_every_cache_mount_is_namespaced(run: str, expected: str) -> None:
    text = f"FROM scratch\n{run}\n"
    result = namespace_cache_mounts(text)
    assert result.text == f"FROM scratch\n{expected}\n"
    assert result.refusals == ()
    assert all(i.startswith(f"line 2: id={NS}/") for i in result.namespaced)


@pytest.mark.parametrize(
    "run",
    [
        "RUN --mount=type=bind,target=/src true",
        "RUN --mount=target=/src true",  # bind, the default
        "RUN --mount=type=tmpfs,target=/t --mount=type=secret,id=s true",
        "RUN --network=none echo --mount=type=cache,target=/x",  # the command's words
        "RUN echo hi",
        "RUN echo $((1<<2)) ${X}<x",  # no here-document
        "COPY --from=build /a /b",
        "# RUN --mount=type=cache,target=/x true",
    ],
)
def test_what_mounts_no_cache_is_left_alone(run: str) -> None:
    text = f"FROM scratch\n{run}\n"
    result = namespace_cache_mounts(text)
    assert (result.text, result.namespaced, result.refusals) == (text, (), ())


def test_continuation_lines_keep_every_later_line_number() -> None:
    text = WILD.read_text()
    result = namespace_cache_mounts(text, skip=1)
    after = result.text.splitlines()
    assert len(after) == len(text.splitlines())
    assert after[8] == (
        f"RUN --mount=type=cache,target=/go/pkg/mod,id={NS}/go/pkg/mod"
        f"     --mount=type=cache,target=/root/.cache/go-build,id={NS}/root/.cache/go-build"
        "     CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -o /out/checkout ."
    )
    assert after[9:11] == ["", ""]
    assert after[11:] == text.splitlines()[11:]
    assert result.namespaced == (
        f"line 7: id={NS}/go/pkg/mod",
        f"line 9: id={NS}/go/pkg/mod",
        f"line 9: id={NS}/root/.cache/go-build",
    )


def test_lines_join_as_buildkit_joins_them() -> None:
    # an escaped backslash ends the line: the next RUN is an instruction of its own
    assert rewritten("RUN echo a\\\\\nRUN --mount=type=cache,target=/x true\n") == (
        f"RUN echo a\\\\\nRUN --mount=type=cache,target=/x,id={NS}/x true\n"
    )
    # a comment and an empty line inside a continuation are left out
    text = "RUN \\\n# note\n\n  --mount=type=cache,target=/x \\\n  true\n"
    assert rewritten(text) == f"RUN   --mount=type=cache,target=/x,id={NS}/x   true\n\n\n\n\n"
    # the escape directive's character continues lines
    text = "RUN --mount=type=cache,target=/x `\n  true\n"
    result = namespace_cache_mounts(text, escape="`")
    assert result.text == f"RUN --mount=type=cache,target=/x,id={NS}/x   true\n\n"


def test_a_here_document_is_no_instruction() -> None:
    text = (
        "RUN --mount=type=cache,target=/x <<EOF\n"
        "RUN --mount=type=cache,target=/in-the-script\n"
        "EOF\n"
        "RUN <<-'END' bash\n"
        "\tRUN --mount=type=cache,target=/also\n"
        "\tEND\n"
        "RUN --mount=type=cache,target=/y true\n"
    )
    assert rewritten(text) == text.replace("/x <<", f"/x,id={NS}/x <<").replace(
        "/y true", f"/y,id={NS}/y true"
    )


@pytest.mark.parametrize(
    ("run", "reason"),
    [
        ("RUN --mount=type=${T},target=/x true", "mount type from a variable"),
        ("RUN --mount=type=$T,target=/x true", "mount type from a variable"),
        ('RUN --mount="type=cache,target=/x" true', "quotes or escapes"),
        ("RUN --mo'unt'=type=cache,target=/x true", "quotes or escapes"),
        ("RUN --mount=type=ca\\che,target=/x true", "quotes or escapes"),
        ("RUN --mount=type=cache,target=/x,colour=red true", "unknown mount option"),
        ("RUN --mount=$MOUNT true", "unknown mount option"),
        ("RUN --mount=type=cache true", "neither id nor target"),
        ("RUN --Mount=type=cache,target=/x true", "not a flag BuildKit knows"),
        ("RUN --mount=type=cache,\\\n  target=/x true", "unknown mount option"),
    ],
)
def test_what_cannot_be_read_with_certainty_is_refused(run: str, reason: str) -> None:
    assert reason in refused(f"FROM scratch\n{run}\n")


@pytest.mark.parametrize(
    "text",
    [
        "RUN cat <<EOF\nnever ends\n",
        "RUN cat <<$NAME\nx\n$NAME\n",
        "RUN cat $EMPTY<<EOF\nx\nEOF\n",
        'RUN cat <<"E\\OF"\nx\n',
    ],
)
def test_a_here_document_seamline_cannot_follow_is_refused(text: str) -> None:
    assert refused(text).startswith("line 1: ")


def test_refusals_name_the_file_and_line(tmp_path: Path) -> None:
    result = namespace_cache_mounts("FROM scratch\n\nRUN --mount=type=${T},target=/x true\n")
    with pytest.raises(UsageError, match=r"Dockerfile:3: --mount=type=\$\{T\}") as raised:
        refuse(tmp_path / "Dockerfile", result.refusals)
    assert raised.value.exit_code == 2
    refuse(tmp_path / "Dockerfile", ())  # nothing to refuse


def test_only_an_untrusted_build_copy_is_namespaced() -> None:
    text = WILD.read_text()
    mapping = BaseImageMap(entries={})
    release = build_copy(text, mapping=mapping, build_args={}, builtin_frontend=True)
    untrusted = build_copy(
        text, mapping=mapping, build_args={}, builtin_frontend=True, untrusted=True
    )
    assert NS not in release.text
    assert (release.cache_ids, release.cache_refusals) == ((), ())
    assert release.text.count("id=") == 0
    assert untrusted.text.count(f"id={NS}/") == 3
    assert len(untrusted.cache_ids) == 3
    # apart from the RUN lines, the same copy: FROMs, directives taken out, line numbers
    differ = [
        n
        for n, (a, b) in enumerate(
            zip(release.text.splitlines(), untrusted.text.splitlines(), strict=True)
        )
        if a != b
    ]
    assert differ == [6, 8, 9, 10]
    assert untrusted.dropped == release.dropped


def _bookstore(tmp_path: Path, dockerfile: str) -> PipelineConfig:
    """A copy of the bookstore example whose catalog service builds ``dockerfile``."""
    repo = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, repo)
    config = load_pipeline_config(repo)
    config.dockerfile_of(next(s for s in config.services if s.name == "catalog")).write_text(
        dockerfile
    )
    return config


def test_the_preflight_refuses_an_untrusted_run_it_cannot_namespace(tmp_path: Path) -> None:
    config = _bookstore(tmp_path, "FROM scratch\nRUN --mount=type=${T},target=/x true\n")
    args = {"GO_BUILDER_IMAGE": "r/go:1", "RUNTIME_IMAGE": "r/static:1"}
    check_cache_mounts(config, build_copies(config, args, buildkit=True))  # a release builds
    with pytest.raises(UsageError, match=r"/Dockerfile:2: .*mount type from a variable"):
        check_cache_mounts(config, build_copies(config, args, buildkit=True, untrusted=True))


@pytest.mark.parametrize("releases", [False, True])
def test_the_image_stage_namespaces_only_an_untrusted_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, releases: bool
) -> None:
    dockerfile = "FROM scratch\nRUN --mount=type=cache,target=/root/.cache/go-build true\n"
    ctx = dataclasses.replace(
        _ctx(tmp_path, releases=releases), config=_bookstore(tmp_path, dockerfile)
    )
    builder = FakeBuilder(pushes=True, buildkit_frontend=True)
    with caplog.at_level(logging.INFO):
        image.build(ctx, "catalog", builder=builder, log=logging.getLogger("tests.cache"))
    built = str(builder.builds[0]["text"])
    passed = builder.builds[0]["args"]
    assert isinstance(passed, dict)
    if releases:  # the Dockerfile's own ids: its cache persists between releases
        assert built == dockerfile.replace("FROM scratch", "FROM scratch AS seamline-final")
        assert "cache mounts namespaced" not in caplog.text
        assert "BUILDKIT_CACHE_MOUNT_NS" not in passed
    else:
        assert built == dockerfile.replace(" true", f",id={NS}/root/.cache/go-build true")
        assert "catalog: cache mounts namespaced for an untrusted build" in caplog.text
        assert passed["BUILDKIT_CACHE_MOUNT_NS"] == NS


def test_the_image_stage_refuses_what_it_cannot_namespace(tmp_path: Path) -> None:
    dockerfile = "FROM scratch\nRUN --mount=type=$T,target=/x true\n"
    ctx = dataclasses.replace(
        _ctx(tmp_path, releases=False), config=_bookstore(tmp_path, dockerfile)
    )
    builder = FakeBuilder(pushes=True, buildkit_frontend=True)
    with pytest.raises(UsageError, match="Dockerfile:2: "):
        image.build(ctx, "catalog", builder=builder, log=logging.getLogger("tests.cache"))
    assert builder.builds == []
