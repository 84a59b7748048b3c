"""The process runner, against a real Python interpreter."""

from __future__ import annotations

import logging
import sys

import pytest

from seamline.errors import ToolFailed, ToolMissing
from seamline.tools.process import run

SECRET = "s3cr3t-value-4711"


def test_captures_stdout_and_exit_code() -> None:
    result = run([sys.executable, "-c", "print('hello'); print('world')"])
    assert result.returncode == 0
    assert result.stdout.splitlines() == ["hello", "world"]
    assert result.argv[0] == sys.executable


def test_failure_raises_with_stderr_tail() -> None:
    code = "import sys; [print(f'line {i}', file=sys.stderr) for i in range(40)]; sys.exit(7)"
    with pytest.raises(ToolFailed) as caught:
        run([sys.executable, "-c", code])
    assert caught.value.returncode == 7
    assert "line 39" in caught.value.stderr_tail
    assert "line 0\n" not in caught.value.stderr_tail
    assert caught.value.exit_code == 3


def test_unchecked_failure_returns_result() -> None:
    result = run([sys.executable, "-c", "raise SystemExit(4)"], check=False)
    assert result.returncode == 4


def test_environment_is_passed() -> None:
    result = run(
        [sys.executable, "-c", "import os; print(os.environ['SEAMLINE_PROBE'])"],
        env={"SEAMLINE_PROBE": "from-env"},
    )
    assert result.stdout.strip() == "from-env"


def test_stdin_text() -> None:
    result = run(
        [sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"], stdin_text="abc"
    )
    assert result.stdout.strip() == "ABC"


def test_secret_masked_in_logs_and_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="seamline.tools.process")
    code = f"import sys; print('pw={SECRET}'); print('bad {SECRET}', file=sys.stderr); sys.exit(1)"
    with pytest.raises(ToolFailed) as caught:
        run([sys.executable, "-c", code, SECRET], secrets=[SECRET])
    text = caught.value.diagnostics() + str(caught.value) + caplog.text
    assert SECRET not in text
    assert "pw=***" in caplog.text
    assert "bad ***" in caught.value.stderr_tail


def test_timeout_kills_and_raises() -> None:
    with pytest.raises(ToolFailed, match="did not finish within"):
        run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_missing_binary_is_tool_missing() -> None:
    with pytest.raises(ToolMissing) as caught:
        run(["seamline-no-such-tool-xyz", "--version"])
    assert caught.value.exit_code == 3
    assert "not found" in caught.value.message
    assert caught.value.hint


def test_base_environment_reaches_every_tool_and_yields_to_explicit_env() -> None:
    from seamline.tools.process import set_base_environment

    code = "import os; print(os.environ.get('GOMAXPROCS'), os.environ.get('SEAMLINE_PROBE'))"
    try:
        set_base_environment({"GOMAXPROCS": "1", "SEAMLINE_PROBE": "base"})
        assert run([sys.executable, "-c", code]).stdout.split() == ["1", "base"]
        explicit = run([sys.executable, "-c", code], env={"SEAMLINE_PROBE": "mine"})
        assert explicit.stdout.split() == ["1", "mine"]
    finally:
        set_base_environment({})
    assert run([sys.executable, "-c", code]).stdout.split()[0] in ("None", str(None))
