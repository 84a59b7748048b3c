from __future__ import annotations

import io
import logging

from seamline.output.human import RedactingFilter
from seamline.output.redaction import redact

SECRET = "hunter2-abcdef"


def test_redact_masks_every_occurrence_longest_first() -> None:
    assert redact(f"a {SECRET} b {SECRET}", [SECRET]) == "a *** b ***"
    assert redact("token=abcdef and abc", ["abc", "abcdef"]) == "token=*** and ***"


def test_redact_ignores_empty_secrets() -> None:
    assert redact("unchanged", ["", ""]) == "unchanged"


def test_filter_masks_args_and_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([SECRET]))
    logger = logging.getLogger("seamline.test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("password is %s", SECRET)
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert SECRET not in out
    assert "password is ***" in out
    assert "failed with ***" in out


def test_a_secret_is_masked_in_any_letter_case() -> None:
    from seamline.output.redaction import redact

    said = "dockerfile parse error line 1: unknown instruction: 5-QT-G4AA"
    assert redact(said, ["5-qt-g4aa"]) == "dockerfile parse error line 1: unknown instruction: ***"
