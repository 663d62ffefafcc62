"""A Dockerfile's text as Docker's parser reads it: parser directives, the escape character, line continuations,
heredocs, an instruction's flags, its exec (JSON) and shell forms, ARG/ENV assignments and `$VARIABLE`s.

https://docs.docker.com/reference/dockerfile/ (parser directives, environment replacement, shell and exec form)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"(?<!<)<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)(?:=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*))?")
#: The shell of CMD, ENTRYPOINT and RUN's shell form until a SHELL instruction says otherwise (Linux images).
DEFAULT_SHELL: tuple[str, ...] = ("/bin/sh", "-c")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its text after the keyword, and its first line's number."""

    keyword: str
    args: str
    line: int
    heredoc: bool = False


def instructions(text: str) -> tuple[dict[str, str], list[Instruction]]:
    """The parser directives and the instructions of a Dockerfile, continuation lines joined, heredoc bodies
    skipped (the instruction is marked), comments dropped."""
    lines = text.splitlines()
    directives: dict[str, str] = {}
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match or match[1].lower() in directives:
            break
        directives[match[1].lower()] = match[2]
        i += 1
    escape = directives.get("escape", "\\")[:1] or "\\"
    found: list[Instruction] = []
    while i < len(lines):
        start, line = i, lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = []
        while line.rstrip().endswith(escape) and i < len(lines):
            parts.append(line.rstrip()[:-1])
            line = lines[i]
            i += 1
            while i < len(lines) and (not line.strip() or line.lstrip().startswith("#")):
                line = lines[i]  # comments and blank lines inside a continuation are dropped
                i += 1
        parts.append(line)
        keyword, _, args = " ".join(parts).strip().partition(" ")
        keyword = keyword.upper()
        heredoc = False
        if keyword in ("RUN", "COPY", "ADD"):
            for strip_tabs, _quote, word in _HEREDOC.findall(args):
                heredoc = True
                while i < len(lines) and (lines[i].lstrip("\t") if strip_tabs else lines[i]) != word:
                    i += 1
                i += 1
        found.append(Instruction(keyword, args.strip(), start + 1, heredoc))
    return directives, found


def flags(args: str) -> tuple[dict[str, list[str]], str]:
    """The leading `--name=value` (or bare `--name`) flags of an instruction, by name, and the rest of its text."""
    found: dict[str, list[str]] = {}
    rest = args
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        found.setdefault(name.lower(), []).append(value)
        rest = rest.lstrip()
    return found, rest


def flag(ins: Instruction, name: str) -> str | None:
    """The value of the instruction's `--name=value` flag, or None."""
    values = flags(ins.args)[0].get(name)
    return values[-1] if values else None


def exec_form(ins: Instruction) -> list[str] | None:
    """The JSON array form (`["python", "-m", "awslambdaric"]`), or None for the shell form."""
    text = flags(ins.args)[1].strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None  # the builder takes what is not a JSON array of strings as the shell form
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def command(ins: Instruction, shell: tuple[str, ...] = DEFAULT_SHELL) -> list[str]:
    """What a CMD or ENTRYPOINT runs: its exec form, or the shell form as `shell` + its text."""
    found = exec_form(ins)
    return found if found is not None else [*shell, ins.args.strip()]


def operands(rest: str) -> list[str] | None:
    """COPY/ADD's operands: the JSON form's strings or the words; None for a JSON form that is not one."""
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            return None
        return [str(w) for w in parsed] if isinstance(parsed, list) else None
    return rest.split()


def substitute(word: str, values: Mapping[str, str], *, strict: bool = True) -> str | None:
    """`word` with `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}` filled from `values`.

    A variable `values` does not hold is empty, as in Docker, unless `strict`: then the answer is None (the
    value may come from where this reading does not look, such as the base image's ENV); None also for forms
    this reading does not handle (`${NAME#prefix}`, escaped `$`)."""
    unresolved = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unresolved
        name, op, word = match[1] or match[4], match[2], match[3]
        value = values.get(name)
        if value is None and strict and op is None:
            unresolved = True
        if op == ":-":
            return value or word
        if op == ":+":
            return word if value else ""
        return value or ""

    result = _VARIABLE.sub(fill, word)
    if unresolved or "${" in result or "\\$" in word:
        return None
    return result


def assignments(args: str, *, env: bool) -> list[tuple[str, str | None]]:
    """`A=1 B="two words" C` as (name, value or None); ENV's old form `ENV NAME value with spaces` too."""
    if env and "=" not in args.split(" ", 1)[0]:
        name, _, value = args.partition(" ")
        return [(name, value.strip())]
    out: list[tuple[str, str | None]] = []
    for match in _ASSIGNMENT.finditer(args):
        value = match[2]
        if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out.append((match[1], value))
    return out


def env_values(ins: Instruction, values: Mapping[str, str], *, strict: bool = True) -> dict[str, str | None]:
    """What an ENV sets, each value's variables filled from `values` (those before the instruction: in
    `ENV A=2 B=$A`, B takes the A of before, as Docker does); None for a value this reading cannot tell."""
    out: dict[str, str | None] = {}
    for name, value in assignments(ins.args, env=True):
        filled = substitute(value or "", values, strict=strict)
        out[name] = filled if filled is not None or strict else value or ""
    return out
