"""A Dockerfile's stages and what its image runs, as the doctor reads them, on the instructions `dockerfile.py`
reads (Docker's rules for directives, continuations and heredocs live there, once).

Adds what the builder would refuse (an unknown instruction, no FROM, an instruction before the first FROM
other than ARG) as `problems`, the chain of stages that makes the final image, and instructions' exec forms.
"""

from __future__ import annotations

import difflib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from .dockerfile import Instruction, flags, instructions, substitute

#: Every instruction the builder knows.
INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip
DEFAULT_SHELL: tuple[str, ...] = ("/bin/sh", "-c")


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


def argv(ins: Instruction, shell: tuple[str, ...] = DEFAULT_SHELL) -> list[str]:
    """What a CMD or ENTRYPOINT runs: its exec form, or the shell form as `shell` + its text."""
    found = exec_form(ins)
    return found if found is not None else [*shell, ins.args.strip()]


def words(ins: Instruction) -> list[str]:
    """The arguments after the flags: the exec form's, or split as a shell would (quotes removed)."""
    found = exec_form(ins)
    if found is not None:
        return found
    rest = flags(ins.args)[1]
    try:
        return shlex.split(rest)
    except ValueError:
        return rest.split()


@dataclass(frozen=True)
class Stage:
    """A build stage: the image it starts FROM (as written), its `AS` name, its instructions after FROM."""

    line: int
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True)
class Stages:
    """A Dockerfile as stages."""

    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    #: ARGs declared before the first FROM, with their defaults ("" for none): the only variables FROM can use.
    global_args: Mapping[str, str] = field(default_factory=dict)
    #: What the builder would refuse, one sentence each.
    problems: tuple[str, ...] = ()

    def stage_named(self, name: str) -> Stage | None:
        """The stage called `name` (case-insensitively, as the builder matches them)."""
        return next((s for s in self.stages if s.name and s.name.lower() == name.lower()), None)

    def resolve(self, text: str, build_args: Mapping[str, str] | None = None) -> str:
        """`text` as FROM sees it: global ARGs filled in, a build arg only through an ARG that declares it."""
        given = {k: v for k, v in (build_args or {}).items() if k in self.global_args}
        return substitute(text, {**self.global_args, **given}, strict=False) or ""

    def chain(self, build_args: Mapping[str, str] | None = None) -> tuple[str, list[Stage]]:
        """The final stage's root image and the stages leading to it, root first."""
        stages: list[Stage] = []
        stage = self.stages[-1] if self.stages else None
        while stage is not None and stage not in stages:
            stages.insert(0, stage)
            base = self.resolve(stage.base, build_args)
            parent = self.stage_named(base)
            if parent is None or self.stages.index(parent) >= self.stages.index(stage):
                return base, stages
            stage = parent
        return "", stages


def parse(text: str) -> Stages:
    """Read a Dockerfile's text as stages."""
    found = tuple(instructions(text)[1])
    problems: list[str] = []
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    current: tuple[int, str, str | None] | None = None
    body: list[Instruction] = []
    for ins in found:
        if ins.keyword not in INSTRUCTIONS:
            close = difflib.get_close_matches(ins.keyword, sorted(INSTRUCTIONS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"line {ins.line}: unknown instruction {ins.keyword}{hint}")
        elif ins.keyword == "FROM":
            if current is not None:
                stages.append(Stage(current[0], current[1], current[2], tuple(body)))
            parts = words(ins)
            if not parts:
                problems.append(f"line {ins.line}: FROM names no image")
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            current, body = (ins.line, parts[0] if parts else "", name), []
        elif current is None:
            if ins.keyword == "ARG":
                global_args.update(w.partition("=")[::2] for w in words(ins))
            else:
                problems.append(f"line {ins.line}: {ins.keyword} before the first FROM (only ARG may come before it)")
        else:
            body.append(ins)
    if current is not None:
        stages.append(Stage(current[0], current[1], current[2], tuple(body)))
    if not stages:
        problems.append(
            "no FROM instruction: a Dockerfile starts FROM an image (after ARGs), e.g. FROM python:3.11-slim"
        )
    return Stages(found, tuple(stages), global_args, tuple(problems))
