"""A Dockerfile as the doctor reads it, on the build's own reading (`dockerfile.read`: Docker's rules for
directives, continuations, heredocs, stages, the ARGs FROM sees and COPY's sources live there, once).

Adds what the builder would refuse (an unknown instruction, no FROM, an instruction before the first FROM
other than ARG) as `problems`, the chain of stages that makes the final image, and instructions' exec forms.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from .dockerfile import Instruction, Reading, Stage, flags, instructions, read

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


@dataclass(frozen=True)
class Stages:
    """A Dockerfile as stages, read for one set of build args."""

    instructions: tuple[Instruction, ...]
    reading: Reading
    #: What the builder would refuse, one sentence each.
    problems: tuple[str, ...] = ()

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The build stages, in order."""
        return self.reading.stages

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


def parse(text: str, build_args: Mapping[str, str] | None = None) -> Stages:
    """Read a Dockerfile's text as stages, for the build args given."""
    found = tuple(instructions(text)[1])
    reading = read(text, build_args)
    written = {stage.line: stage.written for stage in reading.stages}
    problems: list[str] = []
    for ins in found:
        if ins.keyword not in INSTRUCTIONS:
            close = difflib.get_close_matches(ins.keyword, sorted(INSTRUCTIONS), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"line {ins.line}: unknown instruction {ins.keyword}{hint}")
        elif ins.keyword == "FROM":
            if not written[ins.line]:
                problems.append(f"line {ins.line}: FROM names no image")
        elif ins.keyword != "ARG" and (not reading.stages or ins.line < reading.stages[0].line):
            problems.append(f"line {ins.line}: {ins.keyword} before the first FROM (only ARG may come before it)")
    if not reading.stages:
        problems.append(
            "no FROM instruction: a Dockerfile starts FROM an image (after ARGs), e.g. FROM python:3.11-slim"
        )
    return Stages(found, reading, tuple(problems))
