"""bench/RESULTS.md holds one section per benchmark, each between two copies of its mark."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(mark: str, lines: list[str]) -> str:
    """Replace (or append) the section fenced by ``mark``; return it."""
    section = "\n".join([mark, *lines, mark])
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if mark in text:
        head, _, rest = text.partition(mark)
        _, _, tail = rest.partition(mark)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    return section
