"""Where a Dockerfile puts the function's handler, read without building: the handler (its `CMD`) and the folder of
the build context that becomes the runtime's import root — for the inprocess target, which imports that folder.

The runtime imports the handler's module from its import root: `LAMBDA_TASK_ROOT` (/var/task) on AWS base images,
the working directory for awslambdaric in any other image. So the source folder is the context folder whose files
the Dockerfile's `COPY`/`ADD` put there (`COPY app.py ./` with `WORKDIR /function`: the context itself;
`COPY src/ ${LAMBDA_TASK_ROOT}`: the context's `src`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import dockerfile, stages as dockerfile_stages
from ..errors import ConfigError

#: `module.function` or `package.module.function`, as the Python runtime takes a handler.
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
#: AWS base images: the runtime imports from LAMBDA_TASK_ROOT, whatever WORKDIR says.
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
AWS_BASES = ("public.ecr.aws/lambda/", "amazon/aws-lambda-")
TASK_ROOT = "/var/task"


@dataclass(frozen=True)
class HandlerSource:
    """A handler and the folder its module is imported from."""

    handler: str
    folder: Path
    #: How the folder was found, for error messages.
    how: str

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


def module_files(module: str) -> tuple[str, str]:
    """The two files a module can be, relative to the import root: `pkg/mod.py` or `pkg/mod/__init__.py`."""
    path = module.replace(".", "/")
    return f"{path}.py", f"{path}/__init__.py"


def check_handler(handler: str, where: str) -> str:
    """`handler` if it names a Python handler (`module.function`), else a `ConfigError` saying what to give."""
    if not _HANDLER.match(handler):
        raise ConfigError(
            f"{where} is {handler!r}, which is not a Python handler (module.function, e.g. app.handler): give the "
            "handler with --lambda-handler (ini lambda_handler)"
        )
    return handler


def _env(instructions: tuple[dockerfile.Instruction, ...], values: dict[str, str]) -> None:
    """ENV lines of a stage, simply: `ENV K=V ...` and `ENV K V`."""
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        if "=" in ins.args.split(" ", 1)[0]:
            for pair in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)', ins.args):
                values[pair[0]] = pair[1].strip('"')
        else:
            name, _, value = ins.args.partition(" ")
            values[name] = value.strip()


def _cmd(stages: tuple[dockerfile.Stage, ...], index: int) -> list[str] | None:
    """The CMD the final image runs: the last one in the stage, or in the stage it is built FROM."""
    stage = stages[index]
    for ins in reversed(stage.instructions):
        if ins.keyword == "CMD":
            return dockerfile_stages.exec_form(ins) or ins.args.split()
    parents = [i for i, s in enumerate(stages[:index]) if s.name and s.name.lower() == stage.base.lower()]
    return _cmd(stages, parents[-1]) if parents else None


def locate(
    dockerfile_path: Path,
    context: Path,
    *,
    handler: str | None = None,
    source: Path | None = None,
    build_args: Mapping[str, str] | None = None,
) -> HandlerSource:
    """The handler (`handler`, else the Dockerfile's CMD) and its source folder (`source`, else where the Dockerfile
    copies the handler's module from, else the build context, if the module is there)."""
    reading = None
    if handler is None or source is None:
        try:
            text = dockerfile_path.read_text()
        except OSError as exc:
            raise ConfigError(
                f"cannot read {dockerfile_path} ({exc.strerror}) to find the handler: give --lambda-handler and "
                "--lambda-source, or --lambda-dockerfile"
            ) from None
        reading = dockerfile.read(text, build_args)
        if not reading.stages:
            raise ConfigError(f"{dockerfile_path} has no FROM: it builds no image to find the handler in")
    if handler is None:
        assert reading is not None
        cmd = _cmd(reading.stages, len(reading.stages) - 1)
        if not cmd:
            raise ConfigError(f"{dockerfile_path} has no CMD naming the handler: give it with --lambda-handler")
        handler = check_handler(cmd[0], f"the CMD of {dockerfile_path}")
    check_handler(handler, "the handler")
    if source is not None:
        return HandlerSource(handler, source, f"--lambda-source {source}")
    assert reading is not None
    module = handler.rpartition(".")[0]
    found = _copied_from(reading, context, module)
    if found is not None:
        return HandlerSource(handler, found, f"where {dockerfile_path.name} copies {module_files(module)[0]} from")
    if any((context / name).is_file() for name in module_files(module)):
        return HandlerSource(handler, context, f"the build context {context}")
    raise ConfigError(
        f"cannot find the handler's module {module_files(module)[0]} for {handler}: {dockerfile_path} does not copy it "
        f"from a context folder this reading can tell, and it is not in the build context {context}. Give the folder "
        "it is imported from with --lambda-source DIR (ini lambda_source)"
    )


def _copied_from(reading: dockerfile.Reading, context: Path, module: str) -> Path | None:
    """The context folder that the final image's COPY/ADD make the import root, judged by the module's file."""
    chain = dockerfile_stages.Stages((), reading).chain()[1]  # the final stage and those it is built FROM, root first
    aws = chain[0].base.startswith(AWS_BASES)
    values = {"LAMBDA_TASK_ROOT": TASK_ROOT} if aws else {}
    lineage = tuple(ins for stage in chain for ins in stage.instructions)
    _env(lineage, values)
    workdir = TASK_ROOT if aws else "/"
    copies = {id(c.instruction): c for c in reading.copies}
    placed: list[tuple[str, str]] = []  # (context source, absolute destination), in order
    for ins in lineage:
        if ins.keyword == "WORKDIR":
            workdir = posixpath.join(workdir, dockerfile.substitute(ins.args.strip(), values, strict=False) or "")
        copy = copies.get(id(ins))
        if copy is None:
            continue
        dest = dockerfile.substitute(copy.destination, values, strict=False) or copy.destination
        folder_like = dest.endswith("/") or dest in (".", "./") or len(copy.sources) > 1
        dest = posixpath.normpath(posixpath.join(workdir, dest))
        placed += [(src, dest + ("/" if folder_like else "")) for src in copy.sources]
    root = TASK_ROOT if aws else workdir
    for name in module_files(module):
        wanted = posixpath.join(root, name)
        for src, dest in reversed(placed):  # the last COPY of a path wins
            local = context / src
            if local.is_dir():
                base = dest.rstrip("/") or "/"
                if wanted.startswith(base.rstrip("/") + "/"):
                    inside = posixpath.relpath(wanted, base)
                    if (local / inside).is_file():
                        # The import root is that much above the module within the copied folder.
                        up = posixpath.relpath(root, base)
                        return (local / up).resolve() if up != "." else local.resolve()
            elif local.is_file():
                target = posixpath.join(dest, posixpath.basename(src)) if dest.endswith("/") else dest
                if target == wanted:
                    depth = name.count("/")
                    folder = local.parent
                    for _ in range(depth):
                        folder = folder.parent
                    return folder.resolve()
    return None
