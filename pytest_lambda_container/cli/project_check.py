"""The doctor's checks of a project's Dockerfile, pure (no engine): does it parse, which kind of image it makes,
and does a custom image install and start the runtime client (awslambdaric) the emulator talks to.

Each check is one `Check` line: `ok`, `WARNING` (the run may work; check it) or `MISSING` (the run fails).
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..build.context_paths import go_match, is_pattern
from ..build.image_config import (
    AWS_ENTRYPOINT,
    RUNTIME_CLIENT,
    RUNTIME_START,
    ImageConfig,
    python_module_at,
    script_of,
    words_of,
)
from ..build.installs import installs, project_name
from ..build.stages import Stages
from ..build.syntax import Instruction, flag

Status = Literal["ok", "WARNING", "MISSING"]

_RIC = re.compile(r"(?<![\w.-])awslambdaric(?![\w-])", re.IGNORECASE)
_REQUIREMENT_OPTION = re.compile(r"(?:^|\s)(?:-r|--requirement)(?:\s+|=)(\S+)")
_PACKAGE_FILES = ("requirements.txt", "pyproject.toml", "setup.cfg", "setup.py")


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str

    @property
    def line(self) -> str:
        """The report's line: `name: ok, detail` or `name: STATUS: detail`."""
        return (
            f"{self.name}: ok, {self.detail}" if self.status == "ok" else f"{self.name}: {self.status}: {self.detail}"
        )


def kind(root: str, image: ImageConfig) -> Check:
    """Which kind of image the Dockerfile makes (on `root`), and what the plugin does with it."""
    how = "" if image.known else " (judged by the base image's name: its config could not be read)"
    if image.runs_emulator:
        return Check("image kind", "ok", f"AWS base image ({root}): its {AWS_ENTRYPOINT} starts the emulator{how}")
    return Check(
        "image kind",
        "ok",
        f"custom image on {root}: the plugin mounts aws-lambda-rie and starts ENTRYPOINT + CMD under it{how}",
    )


def runtime_client(df: Stages, context: Path, in_base: bool | None = None) -> Check:
    """Does the Dockerfile install awslambdaric: a `pip install` naming it, or a requirements file it copies?
    `in_base` says whether the base image has it already (None: not known)."""
    runs = [ins for stage in df.stages for ins in stage.instructions if ins.keyword == "RUN"]
    run_installs = [install for ins in runs for install in installs(ins)]
    for install in run_installs:
        if install.names(RUNTIME_CLIENT):
            return Check(
                "runtime client", "ok", f"awslambdaric installed by the RUN at line {install.instruction.line}"
            )
    requirement_names = {name for install in run_installs for name in install.requirements}
    files = list(_copied_package_files(df, context, requirement_names))
    for path, line in files:
        found = _listing_runtime_client(path)
        if found is not None:
            shown = _relative(found, context)
            via = "" if found == path else f", through {_relative(path, context)}"
            return Check("runtime client", "ok", f"awslambdaric listed in {shown} (copied at line {line}{via})")
    if in_base:
        return Check("runtime client", "ok", "awslambdaric is in the base image already (it imports there)")
    fix = "add awslambdaric to your requirements file, or add `RUN pip install awslambdaric`"
    # A heredoc's script is not read here (dockerfile.py skips its body): it may install anything.
    opaque = [ins for ins in runs if ins.heredoc or not all(install.readable for install in installs(ins))]
    opaque += [ins for ins in _copies(df) if flag(ins, "from") and not df.stage_named(flag(ins, "from") or "")]
    if opaque:
        return Check(
            "runtime client",
            "WARNING",
            f"could not tell whether awslambdaric is installed (line {opaque[0].line} installs in a way the doctor "
            f"does not read); a custom image needs it to talk to the emulator: if it is not, {fix}",
        )
    read = ", ".join(sorted({str(p.relative_to(context)) for p, _ in files if p.is_relative_to(context)}))
    return Check(
        "runtime client",
        "MISSING",
        "the Dockerfile does not install awslambdaric, which a custom image needs to talk to the emulator (no "
        f"`pip install` names it{', and ' + read + ' does not list it' if read else ''}"
        f"{', nor does the base image have it' if in_base is False else ''}): {fix}"
        f"{' (unless the base image has it already)' if in_base is None else ''}",
    )


def runtime_start(df: Stages, context: Path, image: ImageConfig) -> Check:
    """Does ENTRYPOINT + CMD start `python -m awslambdaric`, which the emulator runs as the function's runtime?"""
    if image.starts_runtime_client:
        shown = shlex.join(image.argv)
        return Check("runtime start", "ok", f"ENTRYPOINT + CMD `{shown}` starts the runtime client")
    if image.entrypoint:
        script = script_of(image.entrypoint, image.shell)
        program = (words_of(script) or [""])[0] if script is not None else image.entrypoint[0]
        copied = _copied_file(df, context, program)
        if copied is not None and _starts_runtime_client(copied.read_text(errors="replace")):
            where = _relative(copied, context)
            return Check("runtime start", "ok", f"ENTRYPOINT {program} ({where}) starts python -m awslambdaric")
        return Check(
            "runtime start",
            "WARNING",
            f"ENTRYPOINT `{shlex.join(image.entrypoint)}` does not visibly start python -m awslambdaric; make sure "
            'it does (a script ends with `exec python -m awslambdaric "$@"`), or use ' + RUNTIME_START,
        )
    if not image.known:
        return Check(
            "runtime start",
            "WARNING",
            "the Dockerfile sets no ENTRYPOINT and the base image's could not be read; unless the base image's "
            f"entrypoint starts python -m awslambdaric, CMD `{shlex.join(image.cmd)}` alone starts no runtime: "
            "use " + RUNTIME_START,
        )
    return Check(
        "runtime start",
        "MISSING",
        f"no ENTRYPOINT starts the runtime client: the plugin runs ENTRYPOINT + CMD under the emulator, and CMD "
        f"`{shlex.join(image.cmd)}` alone is no runtime (the function would never answer); use " + RUNTIME_START,
    )


def handler(image: ImageConfig) -> Check:
    """Is there a handler name for the runtime (`ImageConfig.handler`)?"""
    if image.handler:
        return Check("handler", "ok", image.handler)
    if not image.known and not image.entrypoint:
        return Check(
            "handler",
            "WARNING",
            """the Dockerfile sets no CMD: unless the base image's names one, add CMD ["app.handler"] """
            "(or pass --lambda-handler)",
        )
    return Check("handler", "WARNING", 'no handler: add CMD ["app.handler"] (or pass --lambda-handler app.handler)')


def _starts_runtime_client(script: str) -> bool:
    """True when a line of a script runs `PYTHON -m awslambdaric`."""
    return any(python_module_at(words_of(line), RUNTIME_CLIENT) is not None for line in script.splitlines())


def _copies(df: Stages) -> Iterator[Instruction]:
    return (ins for stage in df.stages for ins in stage.instructions if ins.keyword in ("COPY", "ADD"))


def _copied_paths(df: Stages, context: Path) -> Iterator[tuple[Instruction, str, Path]]:
    """Each (instruction, destination, path in the context) a COPY/ADD takes from the context, as the build reads
    its sources (`dockerfile.read`, which the content tag hashes)."""
    for copy in df.reading.copies:
        for source in copy.sources:
            for path in matches(context, source):
                yield copy.instruction, copy.destination, path


def matches(context: Path, source: str) -> list[Path]:
    """The context paths a cleaned COPY source names, its wildcards matched one name at a time as the builder's
    are (`go_match`)."""
    paths = [context]
    for part in source.split("/") if source else ():
        pattern = go_match(part) if is_pattern(part) else None
        try:
            paths = (
                [p / n for p in paths if p.is_dir() for n in sorted(os.listdir(p)) if pattern.match(n)]
                if pattern
                else [p / part for p in paths]
            )
        except OSError:
            return []  # an unreadable folder: the build says so, if it needs it
    return paths


def _copied_package_files(df: Stages, context: Path, requirement_names: set[str]) -> Iterator[tuple[Path, int]]:
    wanted = set(requirement_names) | {posixpath.basename(n) for n in requirement_names} | set(_PACKAGE_FILES)
    for ins, _dest, path in _copied_paths(df, context):
        if path.is_file() and (path.name in wanted or re.match(r"requirements.*\.txt$", path.name)):
            yield path, ins.line
        elif path.is_dir():
            for name in sorted(wanted):
                if (path / name).is_file():
                    yield path / name, ins.line


def _listing_runtime_client(path: Path, depth: int = 0) -> Path | None:
    """The file that lists awslambdaric: `path`, or a requirements file it includes (`-r other.txt`)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    if not path.name.endswith(".txt"):
        return path if _RIC.search(text) else None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        nested = _REQUIREMENT_OPTION.search(" " + line)
        if nested and depth < 5:
            found = _listing_runtime_client(path.parent / nested[1], depth + 1)
            if found is not None:
                return found
            continue
        if project_name(line) == RUNTIME_CLIENT:
            return path
    return None


def _relative(path: Path, context: Path) -> Path:
    return path.relative_to(context) if path.is_relative_to(context) else path


def _copied_file(df: Stages, context: Path, program: str) -> Path | None:
    """The context file a COPY/ADD put at `program`'s path, if the doctor can tell."""
    for _ins, dest, path in _copied_paths(df, context):
        same_name = path.name == posixpath.basename(program)
        if path.is_file() and (dest == program or (same_name and (dest.endswith("/") or dest in (".", "./")))):
            return path
    return None


def dockerfile(path: Path, df: Stages) -> Check:
    """Would the builder take it: a FROM, known instructions, base images that resolve?"""
    problems = list(df.problems)
    for stage in df.stages:
        if stage.written and not stage.base.strip():
            variables = ", ".join(sorted(set(re.findall(r"\$\{?(\w+)", stage.written))))
            problems.append(
                f"line {stage.line}: FROM {stage.written} names no image without a value for {variables} "
                f"(pass --build-arg {variables.split(', ')[0]}=IMAGE, as the tests do with --lambda-build-arg)"
            )
    if problems:
        return Check("dockerfile", "MISSING", f"{path}: " + "; ".join(problems))
    stages = f", {len(df.stages)} stages" if len(df.stages) > 1 else ""
    return Check("dockerfile", "ok", f"{path} ({len(df.instructions)} instructions{stages})")
