from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from seamline.config.settings import Settings
from seamline.errors import UsageError


def test_defaults_describe_the_local_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.registry == "127.0.0.1:5000"
    assert s.prefect_api_url == "http://127.0.0.1:4200/api"
    assert s.go_builder("1.26.8") == "127.0.0.1:5000/seamline/go-builder:1.26.8"
    assert s.runtime() == "127.0.0.1:5000/seamline/static:nonroot"
    assert s.trivy_db() == "127.0.0.1:5000/seamline/trivy-db:2"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEAMLINE_REGISTRY_PORT", "5999")
    monkeypatch.setenv("SEAMLINE_RUNTIME_IMAGE", "gcr.io/distroless/static-debian12:nonroot")
    s = Settings()
    assert s.registry == "127.0.0.1:5999"
    assert s.runtime() == "gcr.io/distroless/static-debian12:nonroot"


def test_toml_settings_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seamline.toml").write_text(
        '[settings]\nprefect_port = 4300\n\n[pipeline]\nregistry = "x"\n'
    )
    assert Settings().prefect_port == 4300
    monkeypatch.setenv("SEAMLINE_PREFECT_PORT", "4400")
    assert Settings().prefect_port == 4400


def test_precedence_arguments_then_environment_then_toml_then_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seamline.toml").write_text(
        "[settings]\nregistry_port = 5100\nprefect_port = 4300\ngitops_branch = 'toml'\n"
    )
    monkeypatch.setenv("SEAMLINE_REGISTRY_PORT", "5200")
    monkeypatch.setenv("SEAMLINE_PREFECT_PORT", "4400")
    s = Settings(registry_port=5300)
    assert s.registry_port == 5300  # argument over environment and file
    assert s.prefect_port == 4400  # environment over file
    assert s.gitops_branch == "toml"  # file over default
    assert s.overlay == ""  # default


def test_seamline_config_names_another_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seamline.toml").write_text("[settings]\nprefect_port = 4300\n")
    other = tmp_path / "elsewhere.toml"
    other.write_text("[settings]\nprefect_port = 4500\n")
    monkeypatch.setenv("SEAMLINE_CONFIG", str(other))
    assert Settings().prefect_port == 4500


def test_a_file_without_settings_table_gives_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seamline.toml").write_text('[pipeline]\nregistry = "x"\n')
    assert Settings().prefect_port == 4200


def test_unknown_keys_are_ignored_and_bad_values_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "seamline.toml"
    config.write_text("[settings]\nno_such_setting = 1\nprefect_port = 4300\n")
    assert Settings().prefect_port == 4300
    config.write_text("[settings]\nprefect_port = 70000\n")
    with pytest.raises(ValidationError, match="prefect_port"):
        Settings()


def test_settings_that_is_not_a_table_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seamline.toml").write_text('settings = "fast"\n')
    with pytest.raises(UsageError, match=r"\[settings\] must be a table"):
        Settings()


def test_bad_toml_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seamline.toml").write_text("[settings\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        Settings()


def test_secret_is_not_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEAMLINE_COSIGN_PASSWORD", "pw-never-shown")
    s = Settings()
    assert "pw-never-shown" not in repr(s)
    assert "pw-never-shown" not in s.model_dump_json()
