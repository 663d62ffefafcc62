"""What a Dockerfile's build reads: its base images, the context paths its COPY/ADD take, and what needs BuildKit.

Read with Docker's own rules (parser directives, the escape character, line continuations, heredocs, ARG and
ENV scoping per stage), but only as far as needed to decide which context files the build can see. Where the
reading cannot tell (`COPY . .`, a `RUN --mount` of the context, a source whose variables it cannot resolve),
`Reading.sources` is None: the whole context counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .copy_sources import clean_source

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"(?<!<)<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_REMOTE = re.compile(r"^(?:https?://|git@|git://)", re.IGNORECASE)
#: COPY/ADD flags the legacy builder (docker 20.10) understands; any other one is BuildKit's.
_LEGACY_COPY_FLAGS = {"from", "chown"}


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its text after the keyword, and its first line's number."""

    keyword: str
    args: str
    line: int
    heredoc: bool = False


@dataclass(frozen=True)
class BuildKitFeature:
    """A line of the Dockerfile (or a file next to it) that only BuildKit builds."""

    line: int
    what: str


@dataclass(frozen=True)
class Stage:
    """A build stage: its FROM's line, the image it starts from as written and as the build takes it (the global
    ARGs filled in), its `AS` name, and the instructions after its FROM."""

    line: int
    written: str
    base: str
    name: str | None
    instructions: tuple[Instruction, ...] = ()


@dataclass(frozen=True)
class Copy:
    """A COPY/ADD of context files: its destination as written, and the sources this reading can tell, cleaned
    (`clean_source`: "" is the context's root)."""

    instruction: Instruction
    destination: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Reading:
    """What the build of one Dockerfile reads."""

    base_images: tuple[str, ...] = ()
    #: Context paths and wildcard patterns COPY/ADD take, cleaned and relative; None: the whole context counts.
    sources: tuple[str, ...] | None = ()
    #: Why the whole context counts, when it does.
    whole_context: str = ""
    buildkit: tuple[BuildKitFeature, ...] = ()
    stages: tuple[Stage, ...] = ()
    #: Each COPY/ADD that takes files from the context, with the sources `sources` holds (and the root).
    copies: tuple[Copy, ...] = ()


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


def _assignments(args: str, *, env: bool) -> list[tuple[str, str | None]]:
    """`A=1 B="two words" C` as (name, value or None); ENV's old form `ENV NAME value with spaces` too."""
    if env and "=" not in args.split(" ", 1)[0]:
        name, _, value = args.partition(" ")
        return [(name, value.strip())]
    out: list[tuple[str, str | None]] = []
    for match in re.finditer(r"([A-Za-z_][A-Za-z0-9_.-]*)(?:=(\"(?:[^\"\\]|\\.)*\"|'[^']*'|\S*))?", args):
        value = match[2]
        if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out.append((match[1], value))
    return out


@dataclass
class _Stage:
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        return {**self.args, **self.env}  # ENV wins over an ARG of the same name


def _words(rest: str) -> list[str] | None:
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            return None
        return [str(w) for w in parsed] if isinstance(parsed, list) else None
    return rest.split()


def read(text: str, build_args: Mapping[str, str] | None = None) -> Reading:
    """Read a Dockerfile's text for the build args given."""
    build_args = dict(build_args or {})
    directives, found = instructions(text)
    needs: list[BuildKitFeature] = []
    if "syntax" in directives:
        needs.append(BuildKitFeature(1, "a syntax directive"))
    global_args: dict[str, str] = {}
    stages: dict[str, _Stage] = {}
    stage: _Stage | None = None
    bases: list[str] = []
    sources: list[str] = []
    whole: list[str] = []
    froms: list[tuple[int, str, str, str | None]] = []
    bodies: list[list[Instruction]] = []
    copies: list[Copy] = []
    for ins in found:
        kw = ins.keyword
        if bodies and kw != "FROM":
            bodies[-1].append(ins)
        if ins.heredoc:
            needs.append(BuildKitFeature(ins.line, "a heredoc"))
            # Its body is text this reading does not follow (a script may name context paths): count it all.
            whole.append(f"the heredoc at line {ins.line}")
        if kw == "ARG":
            scope = stage.args if stage is not None else global_args
            for name, default in _assignments(ins.args, env=False):
                value = build_args.get(name)
                if value is None and default is not None:
                    value = substitute(default, {**global_args, **(stage.values() if stage else {})})
                if value is None and stage is not None:
                    value = global_args.get(name)  # a stage's bare ARG takes the global default
                if value is not None:
                    scope[name] = value
        elif kw == "FROM":
            words = flags(ins.args)[1].split()
            # Only global ARGs reach FROM, and an unset one is empty there: Docker's own rule.
            ref = (substitute(words[0], global_args, strict=False) or "") if words else ""
            parent = stages.get(ref.lower())
            stage = _Stage(env=dict(parent.env) if parent else {})
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            if alias is not None:
                stages[alias.lower()] = stage
            froms.append((ins.line, words[0] if words else "", ref, alias))
            bodies.append([])
            if parent is None and ref and ref.lower() != "scratch":
                bases.append(ref)
        elif kw == "ENV" and stage is not None:
            for name, value in _assignments(ins.args, env=True):
                filled = substitute(value or "", stage.values())
                if filled is None:
                    stage.env.pop(name, None)  # unknown from here on: a source using it counts the whole context
                else:
                    stage.env[name] = filled
        elif kw == "RUN":
            opts = flags(ins.args)[0]
            needs += [
                BuildKitFeature(ins.line, f"RUN --{name}") for name in ("mount", "network", "security") if name in opts
            ]
            for mount in opts.get("mount", []):
                keys = dict(part.partition("=")[::2] for part in mount.split(","))
                if keys.get("type", "bind") == "bind" and not keys.get("from"):
                    whole.append(f"the RUN --mount of the context at line {ins.line}")
        elif kw in ("COPY", "ADD"):
            opts, rest = flags(ins.args)
            needs += [BuildKitFeature(ins.line, f"{kw} --{name}") for name in sorted(set(opts) - _LEGACY_COPY_FLAGS)]
            if "from" in opts or ins.heredoc:
                continue  # another stage's or image's files, or inline text: no context file
            operands = _words(rest)
            if operands is None or len(operands) < 2:
                whole.append(f"the {kw} at line {ins.line}, which this reading does not parse")
                continue
            taken: list[str] = []
            for word in operands[:-1]:
                if kw == "ADD" and _REMOTE.match(word):
                    continue
                value = substitute(word, stage.values() if stage else {})
                if value is None or '"' in value or "'" in value:
                    whole.append(f"the {kw} source {word} at line {ins.line}, whose value this reading cannot tell")
                    continue
                taken.append(clean_source(value))
                if not taken[-1]:
                    whole.append(f"`{kw} {word}` at line {ins.line}, which copies the whole context")
                else:
                    sources.append(taken[-1])
            copies.append(Copy(ins, operands[-1], tuple(taken)))
    return Reading(
        base_images=tuple(bases),
        sources=None if whole else tuple(dict.fromkeys(sources)),
        whole_context=whole[0] if whole else "",
        buildkit=tuple(needs),
        stages=tuple(Stage(*head, instructions=tuple(body)) for head, body in zip(froms, bodies)),
        copies=tuple(copies),
    )
