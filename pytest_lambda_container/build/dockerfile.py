"""What a Dockerfile's build reads: its base images, the context paths its COPY/ADD take, and what needs BuildKit.

Read with Docker's own rules (the text as `syntax` reads it; ARG and ENV scoping per stage), but only as far as
needed to decide which context files the build can see; what the image runs is `image_config`'s. Where the
reading cannot tell (`COPY . .`, a `RUN --mount` of the context, a source whose variables it cannot resolve),
`Reading.sources` is None: the whole context counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .context_paths import clean_source
from .syntax import Instruction, assignments, env_values, flags, instructions, operands, substitute

_REMOTE = re.compile(r"^(?:https?://|git@|git://)", re.IGNORECASE)
#: COPY/ADD flags the legacy builder (docker 20.10) understands; any other one is BuildKit's.
_LEGACY_COPY_FLAGS = {"from", "chown"}


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
    #: The build args given, and the values of the ARGs declared before the first FROM.
    build_args: Mapping[str, str] = field(default_factory=dict)
    global_args: Mapping[str, str] = field(default_factory=dict)

    def stage_named(self, name: str) -> Stage | None:
        """The stage called `name` (case-insensitively, as the builder matches them)."""
        return next((s for s in self.stages if s.name and s.name.lower() == name.lower()), None)

    def chain(self) -> tuple[str, list[Stage]]:
        """The final stage's root image and the stages leading to it, root first."""
        stages: list[Stage] = []
        stage = self.stages[-1] if self.stages else None
        while stage is not None and stage not in stages:
            stages.insert(0, stage)
            parent = self.stage_named(stage.base)
            if parent is None or self.stages.index(parent) >= self.stages.index(stage):
                return stage.base, stages
            stage = parent
        return "", stages


def arg_values(
    ins: Instruction, build_args: Mapping[str, str], global_args: Mapping[str, str], stage: Mapping[str, str] | None
) -> dict[str, str]:
    """The values an ARG declares: the build arg given, else its default (filled from the global ARGs and the
    `stage`'s values), else in a stage the global ARG's (`stage` None: the ARG is global); unset names left out."""
    out: dict[str, str] = {}
    for name, default in assignments(ins.args, env=False):
        value = build_args.get(name)
        if value is None and default is not None:
            value = substitute(default, {**global_args, **(stage or {})})
        if value is None and stage is not None:
            value = global_args.get(name)  # a stage's bare ARG takes the global default
        if value is not None:
            out[name] = value
    return out


@dataclass
class _Stage:
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        return {**self.args, **self.env}  # ENV wins over an ARG of the same name


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
            scope.update(arg_values(ins, build_args, global_args, stage.values() if stage else None))
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
            for name, value in env_values(ins, stage.values()).items():
                if value is None:
                    stage.env.pop(name, None)  # unknown from here on: a source using it counts the whole context
                else:
                    stage.env[name] = value
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
            written = operands(rest)
            if written is None or len(written) < 2:
                whole.append(f"the {kw} at line {ins.line}, which this reading does not parse")
                continue
            taken: list[str] = []
            for word in written[:-1]:
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
            copies.append(Copy(ins, written[-1], tuple(taken)))
    return Reading(
        base_images=tuple(bases),
        sources=None if whole else tuple(dict.fromkeys(sources)),
        whole_context=whole[0] if whole else "",
        buildkit=tuple(needs),
        stages=tuple(Stage(*head, instructions=tuple(body)) for head, body in zip(froms, bodies)),
        copies=tuple(copies),
        build_args=build_args,
        global_args=global_args,
    )
