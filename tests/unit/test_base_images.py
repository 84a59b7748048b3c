"""[pipeline.base_images] and the build copy of a Dockerfile: every FROM form a real
Dockerfile uses, the mirror it gets, and what is left alone."""

from __future__ import annotations

import pytest

from seamline.adapters.platform import platform_args
from seamline.bases.mapping import BaseImageMap, example_line
from seamline.bases.rewrite import BuildCopy, Substitution, build_copy
from seamline.bases.stand_ins import default_mapping, stand_ins
from seamline.config.pipeline import load_pipeline_config
from seamline.config.settings import PROJECT_ROOT
from seamline.errors import UsageError
from seamline.policy.bases import check_bases

PIN = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
MIRROR = "127.0.0.1:5000/mirror"
OWN = "127.0.0.1:5000/seamline/go-builder:1.26.8-r3"
MAP = BaseImageMap(
    entries={
        "golang:1.26.5-alpine": f"{MIRROR}/golang:1.26-alpine",
        "golang": f"{MIRROR}/golang:1.26",
        f"golang:1.25@{PIN}": f"{MIRROR}/golang:1.25-exact",
        "gcr.io/distroless/static": f"{MIRROR}/distroless/static:nonroot",
        "gcr.io/distroless/static-debian12:nonroot": f"{MIRROR}/distroless/static:nonroot",
    }
)


def copy(text: str, **args: str) -> BuildCopy:
    return build_copy(text, mapping=MAP, build_args=args, platform_args={})


@pytest.mark.parametrize(
    ("reference", "mirror"),
    [
        ("golang:1.26.5-alpine", f"{MIRROR}/golang:1.26-alpine"),  # tag key, exact
        (f"golang:1.26.5-alpine@{PIN}", f"{MIRROR}/golang:1.26-alpine"),  # any digest pin
        ("docker.io/library/golang:1.26.5-alpine", f"{MIRROR}/golang:1.26-alpine"),
        ("golang:1.24-bookworm", f"{MIRROR}/golang:1.26"),  # repository key: any tag
        (f"golang@{OTHER}", f"{MIRROR}/golang:1.26"),
        (f"golang:1.25@{PIN}", f"{MIRROR}/golang:1.25-exact"),  # digest key: that pin only
        (f"golang:1.25@{OTHER}", f"{MIRROR}/golang:1.26"),
        ("gcr.io/distroless/static", f"{MIRROR}/distroless/static:nonroot"),
        ("gcr.io/distroless/static:latest", f"{MIRROR}/distroless/static:nonroot"),
        ("gcr.io/distroless/static-debian12:nonroot", f"{MIRROR}/distroless/static:nonroot"),
        ("gcr.io/distroless/static-debian12:latest", None),  # tag key: that tag only
        ("gcr.io/distroless/base", None),
        ("ghcr.io/golang", None),  # not Docker Hub's golang
    ],
)
def test_the_most_specific_key_picks_the_mirror(reference: str, mirror: str | None) -> None:
    assert MAP.mirror_for(reference) == mirror


def test_a_key_or_mirror_that_is_no_reference_is_refused() -> None:
    with pytest.raises(UsageError, match="not valid"):
        BaseImageMap(entries={"golang:1.26": "http://mirror/golang"})
    with pytest.raises(UsageError, match="not valid"):
        BaseImageMap(entries={"Golang:1.26": f"{MIRROR}/golang:1.26"})


def test_example_line_names_a_mirror_in_the_registry() -> None:
    assert example_line(f"golang:1.26.5-alpine@{PIN}", "127.0.0.1:5000") == (
        '"golang:1.26.5-alpine" = "127.0.0.1:5000/mirror/golang:1.26.5-alpine"'
    )
    assert example_line("gcr.io/distroless/static", "r:5000") == (
        '"gcr.io/distroless/static" = "r:5000/mirror/distroless/static"'
    )


def test_a_real_two_stage_dockerfile_names_the_mirrors_only_on_its_from_lines() -> None:
    text = (
        f"FROM --platform=$BUILDPLATFORM golang:1.26.5-alpine@{PIN} AS builder\n"
        "WORKDIR /src\n"
        "RUN go build -o /out/app .\n"
        "FROM gcr.io/distroless/static:nonroot\n"
        "COPY --from=builder /out/app /app\n"
    )
    result = build_copy(
        text, mapping=MAP, build_args={}, platform_args={"BUILDPLATFORM": "linux/amd64"}
    )
    assert result.text == (
        f"FROM --platform=linux/amd64 {MIRROR}/golang:1.26-alpine AS builder\n"
        "WORKDIR /src\n"
        "RUN go build -o /out/app .\n"
        f"FROM {MIRROR}/distroless/static:nonroot\n"
        "COPY --from=builder /out/app /app\n"
    )
    assert result.substitutions == (
        Substitution(
            original=f"golang:1.26.5-alpine@{PIN}",
            substituted=f"{MIRROR}/golang:1.26-alpine",
            line=1,
        ),
        Substitution(
            original="gcr.io/distroless/static:nonroot",
            substituted=f"{MIRROR}/distroless/static:nonroot",
            line=4,
        ),
    )
    assert result.bases == (f"{MIRROR}/golang:1.26-alpine", f"{MIRROR}/distroless/static:nonroot")
    assert result.unmapped == result.problems == result.directives == ()


def test_a_builder_that_sets_platform_args_gets_platform_as_written() -> None:
    """BuildKit sets BUILDPLATFORM itself: only the image changes, and a line without a
    mirror stays the repository's own; the platform still resolves image names."""
    platform = {"BUILDPLATFORM": "linux/amd64", "TARGETARCH": "amd64"}
    text = (
        f"FROM --platform=$BUILDPLATFORM golang:1.26.5-alpine@{PIN} AS builder\n"
        "FROM --platform=$BUILDPLATFORM alpine:3 AS tools\n"
        "FROM gcr.io/distroless/static:nonroot-${TARGETARCH}\n"
    )
    result = build_copy(
        text,
        mapping=MAP,
        build_args={},
        platform_args=platform,
        resolve_platform_flags=False,
    )
    assert result.text == (
        f"FROM --platform=$BUILDPLATFORM {MIRROR}/golang:1.26-alpine AS builder\n"
        "FROM --platform=$BUILDPLATFORM alpine:3 AS tools\n"
        f"FROM {MIRROR}/distroless/static:nonroot\n"
    )
    assert result.substitutions[1].original == "gcr.io/distroless/static:nonroot-amd64"


def test_platform_left_alone_when_the_builder_does_not_know_it() -> None:
    result = copy("FROM --platform=$TARGETPLATFORM alpine:3\n")
    assert result.text == "FROM --platform=$TARGETPLATFORM alpine:3\n"
    assert result.unmapped == ("alpine:3",)


def test_arg_defaults_and_build_args_resolve_the_image() -> None:
    text = (
        "ARG GO_VERSION=1.26.5\n"
        "ARG VARIANT\n"
        "ARG BASE=golang:${GO_VERSION}-alpine\n"
        "ARG RUNTIME_IMAGE=gcr.io/distroless/static\n"
        "FROM ${BASE} AS build\n"
        "FROM $RUNTIME_IMAGE\n"
        "FROM golang:${GO_VERSION}${VARIANT:-} AS plain\n"
    )
    result = copy(text)
    assert result.text.splitlines()[4:] == [
        f"FROM {MIRROR}/golang:1.26-alpine AS build",
        f"FROM {MIRROR}/distroless/static:nonroot",
        f"FROM {MIRROR}/golang:1.26 AS plain",
    ]
    assert [s.original for s in result.substitutions] == [
        "golang:1.26.5-alpine",
        "gcr.io/distroless/static",
        "golang:1.26.5",
    ]
    # A build argument wins over the default; one that resolves to seamline's own base
    # is left as the Dockerfile writes it.
    overridden = copy(text, RUNTIME_IMAGE="127.0.0.1:5000/seamline/static:nonroot")
    assert overridden.text.splitlines()[5] == "FROM $RUNTIME_IMAGE"
    assert overridden.unmapped == ("127.0.0.1:5000/seamline/static:nonroot",)


def test_an_arg_inside_a_stage_does_not_reach_a_later_from() -> None:
    text = "FROM scratch\nARG IMAGE=golang:1.26.5-alpine\nFROM ${IMAGE:-alpine:3}\n"
    result = copy(text)
    assert result.unmapped == ("alpine:3",)
    assert result.substitutions == ()


def test_stage_names_and_scratch_are_not_images() -> None:
    text = (
        "FROM golang:1.26.5-alpine AS Build\n"
        "FROM build AS test\n"
        "FROM scratch\n"
        "ARG STAGE=test\n"
        "FROM ${STAGE}\n"
    )
    result = copy(text)
    assert result.text.splitlines()[1:] == text.splitlines()[1:]
    assert result.bases == (f"{MIRROR}/golang:1.26-alpine",)


def test_keywords_in_any_case() -> None:
    result = copy("arg BASE=golang:1.26.5-alpine\nfrom ${BASE} as build\nFrom build\n")
    assert result.text.splitlines() == [
        "arg BASE=golang:1.26.5-alpine",
        f"FROM {MIRROR}/golang:1.26-alpine AS build",
        "From build",
    ]


def test_a_from_split_over_lines_keeps_every_later_line_number() -> None:
    text = (
        "FROM \\\n"
        "  --platform=linux/amd64 \\\n"
        "# a comment inside the instruction\n"
        "  golang:1.26.5-alpine \\\n"
        "  AS build\n"
        "RUN true\n"
    )
    result = copy(text)
    assert result.text == (
        f"FROM --platform=linux/amd64 {MIRROR}/golang:1.26-alpine AS build\n\n\n\n\nRUN true\n"
    )
    assert result.substitutions[0].line == 1


def test_parser_directives_are_kept_and_reported() -> None:
    text = (
        "# syntax=docker/dockerfile:1.7\n"
        "# escape=`\n"
        "FROM golang:1.26.5-alpine `\n"
        "  AS build\n"
        "RUN --mount=type=cache,target=/root/.cache go build ./...\n"
    )
    result = copy(text)
    assert result.directives == ("# syntax=docker/dockerfile:1.7", "# escape=`")
    assert result.text.splitlines() == [
        "# syntax=docker/dockerfile:1.7",
        "# escape=`",
        f"FROM {MIRROR}/golang:1.26-alpine AS build",
        "",
        "RUN --mount=type=cache,target=/root/.cache go build ./...",
    ]


def test_a_comment_that_follows_other_lines_is_no_directive() -> None:
    assert copy("FROM scratch\n# syntax=docker/dockerfile:1\n").directives == ()


def test_unmapped_bases_and_broken_references_are_reported_untouched() -> None:
    text = "FROM gcr.io/distroless/base:nonroot\nFROM ${NOTHING}\nFROM\r\n"
    result = copy(text)
    assert result.text == text
    assert result.unmapped == ("gcr.io/distroless/base:nonroot",)
    assert len(result.problems) == 2
    assert result.problems[0].startswith("line 2: FROM ${NOTHING}: image reference ''")
    assert result.problems[1] == "line 3: FROM names no image"


def test_windows_line_endings_stay() -> None:
    result = copy("FROM golang:1.26.5-alpine\r\nRUN true\r\n")
    assert result.text == f"FROM {MIRROR}/golang:1.26-alpine\r\nRUN true\r\n"


def _check(texts: dict[str, str], held: frozenset[str] = frozenset()) -> None:
    check_bases(
        {name: copy(text) for name, text in texts.items()},
        provided={OWN},
        registries={"127.0.0.1:5000"},
        held=lambda reference: reference in held,
        mirror_registry="127.0.0.1:5000",
    )


def test_mirrored_provided_registry_and_held_bases_pass() -> None:
    _check(
        {
            "mapped": f"FROM golang:1.26.5-alpine@{PIN} AS b\nFROM gcr.io/distroless/static\n",
            "own": f"ARG GO_BUILDER_IMAGE={OWN}\nFROM ${{GO_BUILDER_IMAGE}}\n",
            "registry": "FROM 127.0.0.1:5000/team/base:1\nFROM scratch\n",
            "held": "FROM alpine:3.20\n",
        },
        held=frozenset({"alpine:3.20"}),
    )


def test_an_unmapped_base_is_a_usage_error_naming_it_and_the_setting() -> None:
    with pytest.raises(UsageError) as caught:
        _check({"api": f"FROM node:22@{PIN} AS web\nFROM gcr.io/distroless/static\n"})
    error = caught.value
    assert error.exit_code == 2
    assert f"api: FROM node:22@{PIN} is not mirrored" in error.message
    assert "[pipeline.base_images] in seamline.toml" in error.hint
    assert '"node:22" = "127.0.0.1:5000/mirror/node:22"' in error.hint


def test_a_mirror_outside_the_registries_is_refused() -> None:
    mapping = BaseImageMap(entries={"golang": "mirror.example/golang:1"})
    with pytest.raises(UsageError, match=r"the mirror mirror\.example/golang:1 of golang:1\.26"):
        check_bases(
            {"api": build_copy("FROM golang:1.26\n", mapping=mapping, build_args={})},
            provided=set(),
            registries={"127.0.0.1:5000"},
            held=lambda reference: False,
            mirror_registry="127.0.0.1:5000",
        )


def test_a_from_that_is_no_reference_is_refused_before_the_build() -> None:
    with pytest.raises(UsageError, match=r"api: line 1: FROM \$\{NOTHING\}"):
        _check({"api": "FROM ${NOTHING}\n"})


def test_the_stack_serves_every_mirror_of_the_default_mapping() -> None:
    served = stand_ins("127.0.0.1:5000", "1.26.8")
    assert served["go-builder"] == (
        "127.0.0.1:5000/mirror/golang:1.26.8",
        "127.0.0.1:5000/mirror/golang:1.26",
        "127.0.0.1:5000/mirror/golang:latest",
        "127.0.0.1:5000/mirror/golang:1.26.8-alpine",
        "127.0.0.1:5000/mirror/golang:1.26-alpine",
        "127.0.0.1:5000/mirror/golang:alpine",
    )
    assert "127.0.0.1:5000/mirror/distroless/static-debian12:nonroot" in served["runtime"]
    mapping = default_mapping("127.0.0.1:5000", "1.26.8")
    assert set(mapping.values()) <= {ref for refs in served.values() for ref in refs}
    assert BaseImageMap(entries=mapping).mirror_for(f"golang:1.26.5-alpine@{PIN}") == (
        "127.0.0.1:5000/mirror/golang:1.26-alpine"
    )


def test_the_bookstore_carries_the_default_mapping() -> None:
    config = load_pipeline_config(PROJECT_ROOT / "examples" / "bookstore")
    assert config.pipeline.base_images == default_mapping("127.0.0.1:5000", "1.26.8")


def test_a_from_that_does_not_resolve_is_not_told_to_map_anything() -> None:
    with pytest.raises(UsageError) as caught:
        _check({"api": "FROM ${NOTHING}\n"})
    assert "resolve from their ARGs" in caught.value.hint


def test_the_builder_platform_gives_every_automatic_platform_argument() -> None:
    assert platform_args("linux", "arm64") == {
        "BUILDPLATFORM": "linux/arm64",
        "BUILDOS": "linux",
        "BUILDARCH": "arm64",
        "TARGETPLATFORM": "linux/arm64",
        "TARGETOS": "linux",
        "TARGETARCH": "arm64",
    }


CHECKOUT = (
    "# syntax=docker/dockerfile:1\n"
    f"FROM --platform=$BUILDPLATFORM golang:1.26.5-alpine@{PIN} AS builder\n"
    "RUN --mount=type=cache,target=/go/pkg/mod go mod download\n"
    "RUN --mount=type=cache,target=/go/pkg/mod \\\n"
    "    --mount=type=cache,target=/root/.cache/go-build \\\n"
    "    go build -o /out/checkout .\n"
    "COPY --link --from=builder /out/checkout /checkout\n"
    "RUN echo --network=host\n"
)


def test_buildkit_only_lines_are_listed_for_the_classic_builder() -> None:
    result = copy(CHECKOUT)
    assert result.buildkit_only == (
        "line 1: # syntax=docker/dockerfile:1",
        "line 3: RUN --mount=type=cache",
        "line 4: RUN --mount=type=cache",
        "line 7: COPY --link",
    )
    assert result.dropped == ()
    assert result.text.startswith("# syntax=docker/dockerfile:1\n")


def test_buildkit_takes_docker_s_own_syntax_directive_out_keeping_line_numbers() -> None:
    text = "# syntax=docker/dockerfile:1.7\n# escape=\\\n" + CHECKOUT.split("\n", 1)[1]
    result = build_copy(text, mapping=MAP, build_args={}, builtin_frontend=True)
    assert result.dropped == ("# syntax=docker/dockerfile:1.7",)
    lines = result.text.splitlines()
    assert lines[:2] == ["# escape=\\", ""]
    assert lines[2] == f"FROM --platform=$BUILDPLATFORM {MIRROR}/golang:1.26-alpine AS builder"
    assert len(lines) == len(text.splitlines())


@pytest.mark.parametrize(
    "frontend",
    ["docker/dockerfile:1", "docker.io/docker/dockerfile:1.7-labs", f"docker/dockerfile@{PIN}"],
)
def test_every_spelling_of_docker_s_own_frontend_is_taken_out(frontend: str) -> None:
    result = build_copy(
        f"# syntax={frontend}\nFROM scratch\n", mapping=MAP, build_args={}, builtin_frontend=True
    )
    assert result.text == "\nFROM scratch\n"


def test_another_frontend_stays_for_buildkit_to_pull() -> None:
    text = "# syntax=example.com/frontends/dockerfile:2\nFROM scratch\n"
    result = build_copy(text, mapping=MAP, build_args={}, builtin_frontend=True)
    assert result.dropped == () and result.text == text


def _named(text: str) -> BuildCopy:
    return build_copy(text, mapping=MAP, build_args={}, name_final_stage=True)


def test_the_last_stage_is_named_only_when_it_has_no_name() -> None:
    unnamed = _named("FROM golang:1.26 AS build\nRUN true\nFROM scratch\nCOPY --from=build /a /a\n")
    assert unnamed.final_stage == "seamline-final"
    assert unnamed.text.splitlines()[2] == "FROM scratch AS seamline-final"
    assert unnamed.text.splitlines()[0].endswith(" AS build")
    named = _named("FROM golang:1.26 AS build\nFROM scratch AS Runtime\n")
    assert named.final_stage == "Runtime" and "FROM scratch AS Runtime\n" in named.text
    assert build_copy("FROM scratch\n", mapping=MAP, build_args={}).final_stage == ""
    assert "seamline-final" not in build_copy("FROM scratch\n", mapping=MAP, build_args={}).text


def test_the_final_stage_name_is_one_no_other_stage_has() -> None:
    copy = _named("FROM scratch AS seamline-final\nFROM scratch\n")
    assert copy.final_stage == "seamline-final-2"
    assert copy.text == "FROM scratch AS seamline-final\nFROM scratch AS seamline-final-2\n"


def test_a_continued_last_from_line_is_named_with_its_mirror() -> None:
    copy = _named(f"FROM golang:1.26 AS build\nFROM \\\n  gcr.io/distroless/static@{PIN}\nUSER 1\n")
    last = copy.text.splitlines()
    assert copy.final_stage == "seamline-final"
    assert any(line.endswith(" AS seamline-final") and "gcr.io" not in line for line in last)
    assert last[-1] == "USER 1"
