"""The allow-list file: loading, every kind of mistake, and matching real findings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from seamline.errors import UsageError
from seamline.policy.allowlist import AllowEntry, AllowList, load_allowlist
from seamline.policy.findings import Finding, parse_trivy_report

DATA = Path(__file__).resolve().parents[1] / "data" / "trivy"
TODAY = dt.date(2026, 3, 1)

VALID = """\
[[allow]]
id = "CVE-2021-38561"
package = "golang.org/x/text"
justification = "language tags come only from our own config; tracked in OPS-7"
expires = 2026-06-30

[[allow]]
id = "CVE-2023-48795"
package = "golang.org/x/crypto"
justification = "SSH server not used; tracked in OPS-123"
expires = 2027-01-31
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allowlist.toml"
    path.write_text(text)
    return path


def entry(**changes: object) -> str:
    """One [[allow]] entry as TOML; a value of None leaves the field out."""
    fields: dict[str, object] = {
        "id": '"CVE-2021-38561"',
        "package": '"golang.org/x/text"',
        "justification": '"reviewed"',
        "expires": "2026-06-30",
        **changes,
    }
    body = "".join(f"{k} = {v}\n" for k, v in fields.items() if v is not None)
    return f"[[allow]]\n{body}"


@pytest.fixture(scope="module")
def x_text_finding() -> Finding:
    report = parse_trivy_report(json.loads((DATA / "vulnerable-x-text.json").read_text()))
    return next(f for f in report.findings if f.id == "CVE-2021-38561")


def test_load_valid(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    allowlist = load_allowlist(path)
    assert allowlist.source == path
    assert allowlist.entries == (
        AllowEntry(
            id="CVE-2021-38561",
            package="golang.org/x/text",
            justification="language tags come only from our own config; tracked in OPS-7",
            expires=dt.date(2026, 6, 30),
        ),
        AllowEntry(
            id="CVE-2023-48795",
            package="golang.org/x/crypto",
            justification="SSH server not used; tracked in OPS-123",
            expires=dt.date(2027, 1, 31),
        ),
    )


def test_empty_file_is_an_empty_allowlist(tmp_path: Path) -> None:
    assert load_allowlist(write(tmp_path, "")).entries == ()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(UsageError, match=r"allow-list .*nope\.toml not found") as caught:
        load_allowlist(path)
    assert "[[allow]]" in caught.value.hint
    assert caught.value.exit_code == 2


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not valid TOML"):
        load_allowlist(write(tmp_path, "[[allow]\nid = 1\n"))


@pytest.mark.parametrize("field", ["id", "package", "justification", "expires"])
def test_missing_field_names_entry_and_field(tmp_path: Path, field: str) -> None:
    text = entry() + entry(**{field: None})
    with pytest.raises(UsageError, match=rf"entry 2: field '{field}' is missing") as caught:
        load_allowlist(write(tmp_path, text))
    assert "allowlist.toml" in caught.value.message
    assert "expires = 2027-01-31" in caught.value.hint


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expires": '"2026-06-30"'}, r"entry 1: field 'expires' must be a TOML date"),
        ({"expires": "2026-06-30T00:00:00"}, r"entry 1: field 'expires' must be a TOML date"),
        ({"id": "38561"}, r"entry 1: field 'id' must be a non-empty string"),
        ({"package": '""'}, r"entry 1: field 'package' must be a non-empty string"),
        ({"justification": '"  "'}, r"entry 1: field 'justification' must be a non-empty"),
        ({"expiry": "2026-06-30"}, r"entry 1: unknown field\(s\) 'expiry'"),
    ],
)
def test_wrong_field(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_allowlist(write(tmp_path, entry(**changes)))


def test_entry_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'allow' must be an array of tables"):
        load_allowlist(write(tmp_path, 'allow = "CVE-2021-38561"\n'))
    with pytest.raises(UsageError, match="entry 1: must be a table"):
        load_allowlist(write(tmp_path, 'allow = ["CVE-2021-38561"]\n'))


def test_unknown_top_level_key(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown top-level key.*'allowed'"):
        load_allowlist(write(tmp_path, entry().replace("[[allow]]", "[[allowed]]")))


def test_matches_by_id_and_package(x_text_finding: Finding) -> None:
    same = AllowEntry(
        id=x_text_finding.id, package=x_text_finding.package, justification="r", expires=TODAY
    )
    other_package = AllowEntry(
        id=x_text_finding.id, package="golang.org/x/net", justification="r", expires=TODAY
    )
    other_id = AllowEntry(
        id="CVE-2022-32149", package=x_text_finding.package, justification="r", expires=TODAY
    )
    allowlist = AllowList(entries=(other_package, same, other_id))
    assert allowlist.matching(x_text_finding) == (same,)
    assert same.applies_to(x_text_finding, today=TODAY)
    assert not other_package.applies_to(x_text_finding, today=TODAY)
    assert not other_id.applies_to(x_text_finding, today=TODAY)


def test_expiry_day_is_the_last_day(x_text_finding: Finding) -> None:
    allow = AllowEntry(
        id=x_text_finding.id, package=x_text_finding.package, justification="r", expires=TODAY
    )
    assert allow.applies_to(x_text_finding, today=TODAY - dt.timedelta(days=1))
    assert allow.applies_to(x_text_finding, today=TODAY)
    assert not allow.applies_to(x_text_finding, today=TODAY + dt.timedelta(days=1))
    assert allow.matches(x_text_finding)


def test_empty() -> None:
    assert AllowList.empty().entries == ()
