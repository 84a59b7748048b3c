"""The Prefect server's PostgreSQL, when the settings ask for one and name none elsewhere.

The machine's PostgreSQL binaries (Debian's ``postgresql``) run a cluster in
``<state>/postgres``: TCP on 127.0.0.1 only, its unix socket inside the state folder, and one
role and database, ``prefect``, behind a generated password (scram). PostgreSQL refuses to
run as root, so as root the cluster belongs to an unprivileged system user: Debian's
``postgres`` when it exists, else ``seamline-pg``, created on first use.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from collections.abc import Collection
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from seamline.config.settings import Settings
from seamline.errors import StateCorrupt, ToolFailed, ToolMissing
from seamline.orchestration.prefect_database import (
    DATABASE,
    ROLE,
    ensure_postgres_password,
)
from seamline.stack.daemon import Daemon, pid_alive, port_open
from seamline.stack.model import ComponentStatus
from seamline.tools.process import run

HOST = "127.0.0.1"
DEBIAN_USER = "postgres"
SYSTEM_USER = "seamline-pg"
DEBIAN_BIN_DIRS = Path("/usr/lib/postgresql")


def postgres_bin_dir() -> Path | None:
    """The folder of the PostgreSQL server binaries: initdb's on PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found is not None:
        return Path(found).resolve().parent
    versions = [p.parent for p in DEBIAN_BIN_DIRS.glob("*/bin/initdb")]
    versions.sort(key=lambda bin_dir: int(d) if (d := bin_dir.parent.name).isdigit() else -1)
    return versions[-1] if versions else None


def untraversable(path: Path, uid: int, gids: Collection[int]) -> Path | None:
    """The first folder from / down to ``path`` that user ``uid`` may not enter, if any."""
    for folder in [*reversed(path.parents), path]:
        info = folder.stat()
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return folder
    return None


def postmaster_ready(data_dir: Path) -> bool:
    """The cluster's postmaster is alive and accepts connections (its postmaster.pid says
    "ready" on its eighth line once recovery is over)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return (
        len(lines) >= 8
        and lines[0].strip().isdigit()
        and pid_alive(int(lines[0]))
        and lines[7].strip() == "ready"
    )


class PostgresService:
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._dir = settings.state_dir / "postgres"
        self._data = self._dir / "data"
        self._socket_dir = self._dir / "socket"
        port = settings.postgres_port
        self._daemon = Daemon(
            name=self.name,
            argv=[],  # set by up(): it depends on the account the cluster runs as
            state_dir=settings.state_dir,
            endpoint=f"{HOST}:{port}",
            occupied=lambda: port_open(HOST, port),
            healthy=self._healthy,
            start_timeout_s=max(60.0, settings.service_timeout_s),
            fix_port_hint=f"free port {port} or set SEAMLINE_POSTGRES_PORT",
        )

    def _healthy(self) -> bool:
        return postmaster_ready(self._data) and port_open(HOST, self._settings.postgres_port)

    def status(self) -> ComponentStatus:
        settings = self._settings
        if settings.prefect_database_url is not None:
            parts = urlsplit(settings.prefect_database_url.get_secret_value())
            host, port = parts.hostname or HOST, parts.port or 5432
            if port_open(host, port):
                return ComponentStatus(self.name, True, f"{host}:{port} (external)")
            return ComponentStatus(
                self.name,
                False,
                f"nothing answers at {host}:{port} (SEAMLINE_PREFECT_DATABASE_URL)",
                "start that PostgreSQL or fix SEAMLINE_PREFECT_DATABASE_URL",
            )
        if not settings.local_postgres:
            return ComponentStatus(self.name, True, "off (SQLite)")
        if self._healthy():
            return ComponentStatus(self.name, True, f"{HOST}:{settings.postgres_port}")
        return ComponentStatus(
            self.name,
            False,
            f"{HOST}:{settings.postgres_port} does not accept connections",
            "run `seamline stack up`",
        )

    def up(self) -> None:
        if not self._settings.local_postgres:
            return
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise ToolMissing(
                "PostgreSQL's initdb and postgres are not installed",
                hint="run `SEAMLINE_PREFECT_DATABASE=postgres make setup` as root (installs "
                "Debian's postgresql), or put PostgreSQL's bin folder on PATH",
            )
        password = ensure_postgres_password(self._settings)
        account = self._account()
        prefix = self._as(account)
        self._prepare_folders(account)
        if not (self._data / "PG_VERSION").is_file():
            self._initdb(bin_dir, prefix, account, password)
        self._daemon.argv = [
            *prefix,
            str(bin_dir / "postgres"),
            "-D",
            str(self._data),
            "-h",
            HOST,
            "-p",
            str(self._settings.postgres_port),
            "-k",
            str(self._socket_dir),
        ]
        self._daemon.start()
        self._create_database(bin_dir, password)

    def down(self) -> None:
        bin_dir = postgres_bin_dir()
        if self._daemon.running() and bin_dir is not None:
            # A fast shutdown: the server's clients are stopped already, so nothing is lost,
            # and it does not wait for idle connections the way the SIGTERM of Daemon does.
            run(
                [
                    *self._as(self._owner()),
                    str(bin_dir / "pg_ctl"),
                    "stop",
                    "-D",
                    str(self._data),
                    "-m",
                    "fast",
                    "-w",
                ],
                cwd=self._dir,
                timeout=60,
                check=False,
            )
        self._daemon.stop()

    def _account(self) -> pwd.struct_passwd | None:
        """The unprivileged user the cluster runs as; None when we are not root."""
        if os.geteuid() != 0:
            return None
        for name in (DEBIAN_USER, SYSTEM_USER):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SYSTEM_USER,
            ],
            timeout=60,
            hint=f"create an unprivileged user {SYSTEM_USER} for PostgreSQL",
        )
        return pwd.getpwnam(SYSTEM_USER)

    def _owner(self) -> pwd.struct_passwd | None:
        """The account that owns an existing cluster (None: our own)."""
        if os.geteuid() != 0 or not self._data.exists():
            return None
        return pwd.getpwuid(self._data.stat().st_uid)

    @staticmethod
    def _as(account: pwd.struct_passwd | None) -> list[str]:
        """The argv prefix that runs a command as ``account``."""
        if account is None:
            return []
        return [
            "setpriv",
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--init-groups",
            "--",
        ]

    def _prepare_folders(self, account: pwd.struct_passwd | None) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._socket_dir.mkdir(exist_ok=True)
        if account is None:
            return
        for folder in (self._dir, self._socket_dir):
            os.chown(folder, account.pw_uid, account.pw_gid)
        os.chmod(self._dir, 0o700)
        gids = set(os.getgrouplist(account.pw_name, account.pw_gid))
        blocked = untraversable(self._dir, account.pw_uid, gids)
        if blocked is not None:
            raise StateCorrupt(
                f"PostgreSQL runs as {account.pw_name}, who may not enter {blocked}",
                hint=f"chmod o+x {blocked}, or set SEAMLINE_STATE_DIR to a folder "
                f"{account.pw_name} can reach",
            )

    def _initdb(
        self,
        bin_dir: Path,
        prefix: list[str],
        account: pwd.struct_passwd | None,
        password: SecretStr,
    ) -> None:
        # initdb reads the role's password from a file, which the cluster's own user reads.
        pwfile = self._dir / "initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as sink:
            sink.write(password.get_secret_value() + "\n")
        if account is not None:
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        try:
            run(
                [
                    *prefix,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self._data),
                    "-U",
                    ROLE,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                ],
                cwd=self._dir,
                timeout=180,
                hint=f"read the output above; delete {self._data} to start over",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _create_database(self, bin_dir: Path, password: SecretStr) -> None:
        secret = password.get_secret_value()
        created = run(
            [
                str(bin_dir / "createdb"),
                "-h",
                HOST,
                "-p",
                str(self._settings.postgres_port),
                "-U",
                ROLE,
                DATABASE,
            ],
            env={"PGPASSWORD": secret},
            secrets=[secret],
            timeout=60,
            check=False,
        )
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise ToolFailed(
                f"createdb {DATABASE} failed: {created.stderr.strip()[-400:]}",
                hint=f"read {self._daemon.log_file}",
                returncode=created.returncode,
            )
