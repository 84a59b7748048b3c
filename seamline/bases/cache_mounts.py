"""Cache mounts of a build that releases nothing, kept apart from a release's.

BuildKit shares a ``RUN --mount=type=cache`` between every build on the daemon that names
the same ``id`` (by default its target). A pull request could otherwise write into a
cache a release of the default branch then reads (a poisoned Go build cache entry, say).
In the build copy of an untrusted build every cache mount's id is written under
``seamline-untrusted/``; a mount whose type or form cannot be read with certainty is
refused instead, naming its line.

The reading follows BuildKit's Dockerfile frontend: instructions joined over escaped line
ends (comment and empty lines inside left out, later lines not trimmed), here-documents
of RUN, COPY and ADD skipped to their terminator, leading ``--flag[=value]`` words split
with quotes and backslashes (``extractBuilderFlags``), and a ``--mount`` value read as one
CSV record of ``key=value`` fields whose keys are case-insensitive and whose last ``type``
and ``id`` win (``parseMount``, ``dispatchRunMounts``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from seamline.errors import UsageError

PREFIX = "seamline-untrusted"
# parseMount's keys; those without a value (ro, rw, required) stand alone.
_KEYS = frozenset(
    {"type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro"}
    | {"readwrite", "rw", "required", "size", "id", "sharing", "mode", "uid", "gid"}
)
_TARGET_KEYS = ("target", "dst", "destination")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_SPACES = "\t\n\v\f\r \x85\xa0"  # Go's unicode.IsSpace below 0x100
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_VARIABLE_HEREDOC = re.compile(r"^[\w{}]*\$[\w${}]*<<")
_HEREDOC_INSTRUCTIONS = ("RUN", "COPY", "ADD")


@dataclass(frozen=True, kw_only=True)
class CacheNamespacing:
    text: str
    namespaced: tuple[str, ...]  # "line N: <id as written after>" per cache mount
    refusals: tuple[str, ...]  # "line N: reason" per mount that cannot be namespaced


def refuse(path: object, refusals: Iterable[str]) -> None:
    """A usage error listing ``refusals`` ("line N: why") of the Dockerfile at ``path``
    as "path:N: why", if there are any."""
    listed = []
    for refusal in refusals:
        line, _, why = refusal.removeprefix("line ").partition(": ")
        listed.append(f"{path}:{line}: {why}")
    if listed:
        raise UsageError(
            "cache mounts an untrusted build cannot keep apart from releases: " + "; ".join(listed),
            hint="write each RUN --mount as --mount=type=cache,target=...[,id=...] with a "
            "literal type and no quotes or escapes, so seamline can namespace its id",
        )


class _Refused(Exception):
    pass


@dataclass(frozen=True)
class _Step:
    first: int  # index of its first physical line
    last: int  # index of its last physical line (here-document bodies excluded)
    line: str  # as BuildKit joins it


def namespace_cache_mounts(text: str, *, escape: str = "\\", skip: int = 0) -> CacheNamespacing:
    """``text`` (a Dockerfile whose first ``skip`` lines are parser directives, with the
    escape character they set) with the id of every RUN cache mount under ``PREFIX``."""
    lines = text.splitlines(keepends=True)
    namespaced: list[str] = []
    refusals: list[str] = []
    try:
        steps = _steps(lines, escape, skip)
    except _Refused as e:
        return CacheNamespacing(text=text, namespaced=(), refusals=(str(e),))
    for step in steps:
        try:
            # BuildKit reads flags byte by byte (a byte 0x85 or 0xa0 is a space to it)
            written, ids = _rewrite(step.line.encode().decode("latin-1"))
            written = written.encode("latin-1").decode()
            ids = [i.encode("latin-1").decode() for i in ids]
        except _Refused as e:
            refusals.append(f"line {step.first + 1}: {e}")
            continue
        namespaced += [f"line {step.first + 1}: id={i}" for i in ids]
        if written != step.line:
            ending = lines[step.first][len(lines[step.first].rstrip("\r\n")) :] or "\n"
            lines[step.first] = written + ending
            for index in range(step.first + 1, step.last + 1):
                lines[index] = ending
    return CacheNamespacing(
        text="".join(lines), namespaced=tuple(namespaced), refusals=tuple(refusals)
    )


def _steps(lines: list[str], escape: str, skip: int) -> list[_Step]:
    """Every instruction as BuildKit's parser joins it."""
    e = re.escape(escape)
    continuation = re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")
    steps: list[_Step] = []
    index = skip
    while index < len(lines):
        first = index
        line = lines[index].rstrip("\r\n").lstrip()
        index += 1
        if not line or line.startswith("#"):
            continue
        line, ended = _trim_continuation(line, continuation)
        while not ended and index < len(lines):
            raw = lines[index].rstrip("\r\n")
            index += 1
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            more, ended = _trim_continuation(raw, continuation)
            line += more
        steps.append(_Step(first, index - 1, line))
        index = _skip_heredocs(line, lines, index, first)
    return steps


def _trim_continuation(line: str, continuation: re.Pattern[str]) -> tuple[str, bool]:
    if continuation.search(line):
        return continuation.sub(r"\1", line, count=1), False
    return line, True


def _skip_heredocs(line: str, lines: list[str], index: int, first: int) -> int:
    """The index after the here-document bodies ``line`` opens, if any."""
    keyword, rest = _split_command(line)
    if keyword not in _HEREDOC_INSTRUCTIONS or "<<" not in rest:
        return index
    for word in _raw_words(rest):
        match = _HEREDOC.match(word)
        if not match or not match.group(3):
            if _VARIABLE_HEREDOC.match(word):  # "$EMPTY<<EOF" is one to BuildKit
                raise _Refused(f"line {first + 1}: a here-document named by a variable")
            continue
        name = match.group(3)
        if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
            name = name[1:-1]
        if re.search(r"[\"'\\$]", name):
            raise _Refused(f"line {first + 1}: a here-document terminator seamline cannot read")
        while True:
            if index >= len(lines):
                raise _Refused(f"line {first + 1}: here-document {name!r} never ends")
            body = lines[index].rstrip("\r\n")
            index += 1
            if (body.lstrip("\t") if match.group(2) else body) == name:
                break
    return index


def _raw_words(text: str) -> list[str]:
    """Words split at whitespace outside quotes, quotes and escapes kept as written."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    position = 0
    while position < len(text):
        ch = text[position]
        if ch == "\\" and quote != "'" and position + 1 < len(text):
            word += [ch, text[position + 1]]
            position += 2
            continue
        if quote:
            quote = "" if ch == quote else quote
            word.append(ch)
        elif ch in "'\"":
            quote = ch
            word.append(ch)
        elif ch.isspace():
            if word:
                words.append("".join(word))
            word = []
        else:
            word.append(ch)
        position += 1
    if word:
        words.append("".join(word))
    return words


def _split_command(line: str) -> tuple[str, str]:
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    return parts[0].upper(), (parts[1] if len(parts) == 2 else "")


@dataclass(frozen=True)
class _Flag:
    word: str  # as BuildKit reads it: quotes and escapes resolved
    start: int
    end: int  # its value's end, for ``--flag value``
    plain: bool  # written without quotes or escapes


def _rewrite(line: str) -> tuple[str, list[str]]:
    """``line`` with its cache mounts' ids namespaced, and those ids; ``line`` itself
    when it is no RUN (nor ONBUILD RUN) or mounts no cache."""
    stripped = line.strip()
    keyword, rest = _split_command(stripped)
    prefix = stripped[: len(stripped) - len(rest)]
    if keyword == "ONBUILD":
        if _split_command(rest)[0] != "RUN":
            return line, []
        trigger, found = _rewrite(rest)
        return (prefix + trigger, found) if found else (line, [])
    if keyword != "RUN":
        return line, []
    out: list[str] = []
    ids: list[str] = []
    position = 0
    for flag in _builder_flags(rest):
        name, _, value = flag.word[2:].partition("=")
        if name.lower() != "mount":
            continue
        if not flag.plain:
            written = rest[flag.start : flag.end]
            raise _Refused(f"--mount written with quotes or escapes ({written})")
        if name != "mount":
            raise _Refused(f"--{name}: not a flag BuildKit knows")
        mount = _namespaced(value)
        if mount is None:
            continue
        out += [rest[position : flag.start], f"--mount={mount.value}"]
        ids.append(mount.cache_id)
        position = flag.end
    if not ids:
        return line, []
    return prefix + "".join(out) + rest[position:], ids


@dataclass(frozen=True)
class _Mount:
    value: str  # as written in the build copy
    cache_id: str


def _namespaced(value: str) -> _Mount | None:
    """A ``--mount`` value with its cache id under ``PREFIX``; None when it mounts no
    cache."""
    if '"' in value:
        raise _Refused(f"--mount={value}: quoted mount options")
    fields = value.split(",")
    types: list[str] = []
    ids: list[str] = []
    targets: list[str] = []
    for field in fields:
        key, has_value, option = field.partition("=")
        key = key.lower()
        if key not in _KEYS:
            raise _Refused(f"--mount={value}: unknown mount option {field!r}")
        if key == "type":
            if "$" in option:
                raise _Refused(f"--mount={value}: mount type from a variable ({option})")
            types.append(option.lower())
        elif key == "id" and has_value:
            ids.append(option)
        elif key in _TARGET_KEYS and has_value:
            targets.append(option)
    if (types[-1] if types else "bind") != "cache":
        return None
    cache_id = ids[-1] if ids and ids[-1] else (targets[-1] if targets else "")
    if not cache_id:
        raise _Refused(f"--mount={value}: a cache mount with neither id nor target")
    namespaced = f"{PREFIX}{'' if cache_id.startswith('/') else '/'}{cache_id}"
    kept = [f for f in fields if f.partition("=")[0].lower() != "id"]
    return _Mount(",".join([*kept, f"id={namespaced}"]), namespaced)


def _builder_flags(line: str) -> list[_Flag]:
    """The leading ``--flag`` words of an instruction's arguments as BuildKit's
    ``extractBuilderFlags`` reads them: quotes and backslashes resolved, and a flag
    written without ``=`` taking the next word as its value."""
    flags: list[_Flag] = []
    word: list[str] = []
    start, plain, blank_ok = 0, True, False
    in_word, quote = False, ""
    parsing_arg, need_arg = False, True
    position = 0
    while True:
        if not in_word:
            while position < len(line) and line[position] in _SPACES:
                position += 1
            if position == len(line):
                return flags
            if not parsing_arg and not line.startswith("--", position):
                return flags
            in_word, start, plain = True, position, True
        if position == len(line):
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                flags.append(_Flag(text, start, position, plain))
            return flags
        ch = line[position]
        position += 1
        if quote:
            if ch == quote:
                quote = ""
                continue
            if ch == "\\":
                if position == len(line):
                    quote = ""
                    continue
                ch, position = line[position], position + 1
            word.append(ch)
            continue
        if ch in _SPACES:
            in_word = False
            text = "".join(word)
            if parsing_arg:
                last = flags[-1]
                flags[-1] = _Flag(
                    f"{last.word}={text}", last.start, position - 1, last.plain and plain
                )
                parsing_arg, need_arg = False, True
            else:
                if text == "--":
                    return flags
                if blank_ok or text:
                    parsing_arg = parsing_arg or need_arg
                    flags.append(_Flag(text, start, position - 1, plain))
            word, blank_ok = [], False
            continue
        if ch == "=" and need_arg:
            need_arg = False
        if ch in "'\"":
            quote, blank_ok, plain = ch, True, False
            continue
        if ch == "\\":
            plain = False
            if position == len(line):
                continue
            ch, position = line[position], position + 1
        word.append(ch)
