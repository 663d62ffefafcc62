"""A Dockerfile as the doctor reads it, on the build's own reading (`dockerfile.read`: Docker's rules for
directives, continuations, heredocs, stages, the ARGs FROM sees and COPY's sources live there, once).

Adds what the builder would refuse (an unknown instruction, no FROM, an instruction before the first FROM
other than ARG) as `problems`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from .dockerfile import Reading, Stage, read
from .syntax import Instruction, instructions

#: Every instruction the builder knows.
INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip


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
        return self.reading.stage_named(name)

    def chain(self) -> tuple[str, list[Stage]]:
        """The final stage's root image and the stages leading to it, root first."""
        return self.reading.chain()


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
