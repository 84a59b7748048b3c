"""The one settings class, built once at the entry point and passed down.

Sources, strongest first: constructor arguments, ``SEAMLINE_*`` environment variables,
the ``[settings]`` table of ``seamline.toml`` in the working directory (or the file named
by ``SEAMLINE_CONFIG``), then the defaults below, which describe the offline local stack.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from seamline.errors import UsageError
from seamline.project import DEFAULT_STATE_DIR, PROJECT_ROOT


class _TomlTable(PydanticBaseSettingsSource):
    """Reads the ``[settings]`` table of a seamline.toml, if there is one."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = Path(os.environ.get("SEAMLINE_CONFIG", "seamline.toml"))
        self._values: dict[str, Any] = {}
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text())
            except tomllib.TOMLDecodeError as e:
                raise UsageError(
                    f"{path} is not valid TOML: {e}", hint="fix the file or unset SEAMLINE_CONFIG"
                ) from e
            table = data.get("settings", {})
            if not isinstance(table, dict):
                raise UsageError(f"{path}: [settings] must be a table", hint="see README.md")
            self._values = table

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEAMLINE_", extra="ignore", frozen=True)

    project_root: Path = PROJECT_ROOT
    state_dir: Path = DEFAULT_STATE_DIR
    tools_dir: Path = PROJECT_ROOT / ".tools" / "bin"
    toolchain_file: Path = PROJECT_ROOT / "toolchain.env"
    example_repo: Path = PROJECT_ROOT / "examples" / "bookstore"

    registry_host: str = "127.0.0.1"
    registry_port: int = Field(default=5000, ge=1, le=65535)
    prefect_host: str = "127.0.0.1"
    prefect_port: int = Field(default=4200, ge=1, le=65535)

    docker_host: str = "unix:///var/run/docker.sock"
    manage_dockerd: bool = True

    mirror_base_images: bool = True
    go_builder_image: str = ""
    runtime_image: str = ""
    trivy_db_repository: str = ""

    # `seamline run` hands its run to the stack's warm runner, which has Prefect imported
    # already; off, or with no runner up, the command imports and runs everything itself.
    warm_runner: bool = True

    cosign_password: SecretStr | None = None
    service_timeout_s: float = Field(default=60.0, gt=0)

    source_repo: str = ""
    gitops_remote: str = ""
    gitops_branch: str = "main"
    overlay: str = ""
    scan_order: Literal["push-then-scan", "scan-then-push"] = "push-then-scan"
    gate_severities: str = "HIGH,CRITICAL"
    ignore_unfixed: bool = False
    builder_id: str = "https://seamline.dev/builders/local"

    # Threads (GOMAXPROCS) for each Go tool seamline runs; 0 picks half the cores, at least
    # one. seamline runs many tools side by side, and a Go tool that assumes every core is
    # its own spends CPU on threads looking for work the other tools are doing.
    tool_threads: int = Field(default=0, ge=0)

    # Prefect flow-run heartbeats let an automation mark a run whose process died as
    # crashed. The local stack has no such automation, and the heartbeat thread holds up the
    # end of every run by up to a second, so they are off unless asked for.
    flow_heartbeats: bool = False

    signing_mode: Literal["key", "keyless"] = "key"
    oidc_token: SecretStr | None = None
    certificate_identity: str = ""
    certificate_oidc_issuer: str = ""
    fulcio_url: str = "https://fulcio.sigstore.dev"
    rekor_url: str = "https://rekor.sigstore.dev"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlTable(settings_cls))

    @property
    def registry(self) -> str:
        return f"{self.registry_host}:{self.registry_port}"

    @property
    def registry_url(self) -> str:
        return f"http://{self.registry}"

    @property
    def prefect_api_url(self) -> str:
        return f"http://{self.prefect_host}:{self.prefect_port}/api"

    @property
    def prefect_ui_url(self) -> str:
        return f"http://{self.prefect_host}:{self.prefect_port}"

    def go_builder(self, go_version: str) -> str:
        return self.go_builder_image or f"{self.registry}/seamline/go-builder:{go_version}"

    def runtime(self) -> str:
        return self.runtime_image or f"{self.registry}/seamline/static:nonroot"

    @property
    def local_gitops_remote(self) -> Path:
        """The bare repository the local stack seeds and serves."""
        return self.state_dir / "gitops" / "bookstore.git"

    def default_gitops_remote(self) -> str:
        return self.gitops_remote or str(self.local_gitops_remote)

    def default_source_repo(self) -> str:
        return self.source_repo or self.default_gitops_remote()

    def go_max_procs(self) -> int:
        return self.tool_threads or max(1, (os.cpu_count() or 2) // 2)

    def secrets(self) -> list[str]:
        """Every secret value the settings hold, for redaction."""
        values = [self.cosign_password, self.oidc_token]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    def trivy_db(self) -> str:
        return self.trivy_db_repository or f"{self.registry}/seamline/trivy-db:2"
