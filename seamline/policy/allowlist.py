"""The allow-list a repository keeps beside its code: accepted findings, each with a reason
and an expiry date, so an exception is a reviewed decision that lapses rather than a
permanent hole in the gate.

```toml
[[allow]]
id = "CVE-2023-48795"
package = "golang.org/x/crypto"
justification = "SSH server not used; tracked in OPS-123"
expires = 2027-01-31
```
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seamline.errors import UsageError
from seamline.policy.findings import Finding

_FIELDS = ("id", "package", "justification", "expires")
_EXAMPLE = (
    '[[allow]]\nid = "CVE-2023-48795"\npackage = "golang.org/x/crypto"\n'
    'justification = "why this is acceptable"\nexpires = 2027-01-31'
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowEntry:
    id: str
    package: str
    justification: str
    expires: dt.date

    def matches(self, finding: Finding) -> bool:
        """Same vulnerability in the same package, whatever the date."""
        return self.id == finding.id and self.package == finding.package

    def active_on(self, today: dt.date) -> bool:
        """Still in force: the expiry day itself is the last day it applies."""
        return today <= self.expires

    def applies_to(self, finding: Finding, *, today: dt.date) -> bool:
        return self.matches(finding) and self.active_on(today)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowList:
    entries: tuple[AllowEntry, ...] = ()
    source: Path | None = field(default=None, compare=False)

    @classmethod
    def empty(cls) -> AllowList:
        return cls()

    def matching(self, finding: Finding) -> tuple[AllowEntry, ...]:
        """Every entry naming this finding's id and package, expired or not."""
        return tuple(entry for entry in self.entries if entry.matches(finding))


def _entry_problem(path: Path, index: int, message: str) -> UsageError:
    return UsageError(
        f"{path}: [[allow]] entry {index}: {message}",
        hint=f"every [[allow]] entry needs exactly these fields:\n{_EXAMPLE}",
    )


def _parse_entry(path: Path, index: int, raw: object) -> AllowEntry:
    if not isinstance(raw, dict):
        raise _entry_problem(path, index, "must be a table")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise _entry_problem(path, index, f"unknown field(s) {', '.join(map(repr, unknown))}")
    for name in _FIELDS:
        if name not in raw:
            raise _entry_problem(path, index, f"field {name!r} is missing")
    for name in ("id", "package", "justification"):
        value = raw[name]
        if not isinstance(value, str) or not value.strip():
            raise _entry_problem(path, index, f"field {name!r} must be a non-empty string")
    expires = raw["expires"]
    if isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        raise _entry_problem(
            path,
            index,
            f"field 'expires' must be a TOML date such as 2027-01-31 (unquoted), got {expires!r}",
        )
    return AllowEntry(
        id=raw["id"].strip(),
        package=raw["package"].strip(),
        justification=raw["justification"].strip(),
        expires=expires,
    )


def _parse(path: Path, data: dict[str, Any]) -> AllowList:
    unknown = sorted(set(data) - {"allow"})
    if unknown:
        raise UsageError(
            f"{path}: unknown top-level key(s) {', '.join(map(repr, unknown))}",
            hint="an allow-list holds only [[allow]] entries",
        )
    raw_entries = data.get("allow", [])
    if not isinstance(raw_entries, list):
        raise UsageError(
            f"{path}: 'allow' must be an array of tables",
            hint="write each entry under its own [[allow]] header",
        )
    entries = tuple(_parse_entry(path, i, raw) for i, raw in enumerate(raw_entries, start=1))
    return AllowList(entries=entries, source=path)


def load_allowlist(path: Path) -> AllowList:
    """Read and check an allow-list file; every problem names the file, the entry, the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise UsageError(
            f"allow-list {path} not found",
            hint=f"check the path, or create the file with entries like:\n{_EXAMPLE}",
        ) from e
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise UsageError(
            f"allow-list {path} could not be read: {e}", hint="point at a UTF-8 TOML file"
        ) from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"allow-list {path} is not valid TOML: {e}", hint="fix the syntax") from e
    return _parse(path, data)
