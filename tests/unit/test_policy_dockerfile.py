"""Which fetches a Dockerfile may make the image builder do."""

from __future__ import annotations

from pathlib import Path

from seamline.config.settings import PROJECT_ROOT
from seamline.policy.dockerfile import fetch_problems, instructions

ARGS = ("GO_BUILDER_IMAGE", "RUNTIME_IMAGE")
REGISTRIES = ("127.0.0.1:5000",)


def problems(text: str) -> list[str]:
    return fetch_problems(text, build_args=ARGS, registries=REGISTRIES)


def test_the_bookstore_dockerfiles_fetch_nothing_else() -> None:
    for dockerfile in (PROJECT_ROOT / "examples" / "bookstore" / "app").glob("*/Dockerfile"):
        assert problems(dockerfile.read_text()) == [], dockerfile


def test_copies_and_downloads_from_elsewhere_are_named() -> None:
    text = "\n".join(
        [
            "ARG GO_BUILDER_IMAGE",
            "FROM ${GO_BUILDER_IMAGE} AS build",
            "FROM golang:1.26 AS other",
            "FROM $RUNTIME_IMAGE",
            "COPY --from=build /out /out",
            "COPY --from=0 /a /a",
            "COPY --from=evil.example/tools:1 /bin/x /x",
            "ADD https://169.254.169.254/latest/meta-data/ /creds",
            'ADD ["http://x.example/a", "/a"]',
            "ADD \\",
            "  git@github.com:org/repo.git /src",
            "ADD local.txt /local.txt",
            "FROM 127.0.0.1:5000/seamline/static:nonroot",
            "FROM scratch",
        ]
    )
    assert problems(text) == [  # FROM is judged on the build copy (test_base_images)
        "COPY --from=evil.example/tools:1: not a stage or a base seamline provides",
        "ADD https://169.254.169.254/latest/meta-data/: a download by the image builder",
        "ADD http://x.example/a: a download by the image builder",
        "ADD git@github.com:org/repo.git: a download by the image builder",
    ]


def test_instructions_join_continuations_and_skip_comments(tmp_path: Path) -> None:
    assert instructions("# c\nRUN a \\\n  b\n\nFROM x\n") == [("RUN", ["a", "b"]), ("FROM", ["x"])]
