"""What an image runs, and with what: its config (ENTRYPOINT, CMD, SHELL, ENV, WORKDIR, USER) as one model, taken
from the engine (`docker inspect`'s Config) or read from a Dockerfile, stage upon stage, from its base image's.

Every reader of an image's meaning asks it here: the launch plan (the command, where a handler goes), the start-up
check (the import root), the inprocess target (the handler, where its module is copied), the doctor (does it start
the runtime client, with which Python). The rules are Docker's: an ENTRYPOINT clears the CMD its stage did not set,
the shell form runs under SHELL, WORKDIR is relative to the one before, ENV takes the values before it.
https://docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .dockerfile import Reading, arg_values
from .syntax import DEFAULT_SHELL, Instruction, command, env_values, exec_form, substitute

#: The runtime interface client: `python -m awslambdaric HANDLER` is a custom image's Python runtime.
RUNTIME_CLIENT = "awslambdaric"
#: The AWS base images' entrypoint, which starts the emulator itself outside Lambda.
AWS_ENTRYPOINT = "/lambda-entrypoint.sh"
#: AWS base images, recognised by name when their config cannot be read.
AWS_BASE_PREFIXES = ("public.ecr.aws/lambda/", "amazon/aws-lambda-")
#: Where an AWS base image's runtime imports the function's code from.
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
TASK_ROOT = "/var/task"
#: How a custom image starts the runtime client, for the messages that say what to write.
RUNTIME_START = 'ENTRYPOINT ["python", "-m", "awslambdaric"] and CMD ["app.handler"]'
_SHELLS = re.compile(r"(?:ba|da|a|z|k|mk)?sh")


@dataclass(frozen=True)
class ImageConfig:
    """An image's config as Docker keeps it; `()` and `""` are "not set"."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    shell: tuple[str, ...] = DEFAULT_SHELL
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = ""
    user: str = ""
    #: False when the base image's config was not read (a Dockerfile read without the engine): its ENTRYPOINT and
    #: CMD may be set where this model does not see them (an AWS base image's are assumed from its name).
    known: bool = True

    @classmethod
    def from_engine(cls, config: Mapping[str, Any] | None) -> ImageConfig:
        """The model of an image's `Config`, as the engine's inspection gives it."""
        config = config or {}
        return cls(
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            shell=tuple(config.get("Shell") or DEFAULT_SHELL),
            env=dict(item.split("=", 1) for item in config.get("Env") or () if "=" in item),
            workdir=config.get("WorkingDir") or "",
            user=config.get("User") or "",
        )

    @property
    def argv(self) -> tuple[str, ...]:
        """ENTRYPOINT + CMD: what a container of the image runs."""
        return (*self.entrypoint, *self.cmd)

    @property
    def runs_emulator(self) -> bool:
        """True for AWS base images, whose entrypoint starts aws-lambda-rie itself."""
        return bool(self.entrypoint) and posixpath.basename(self.entrypoint[0]) == posixpath.basename(AWS_ENTRYPOINT)

    @property
    def import_root(self) -> str:
        """Where the runtime imports the handler's module from: LAMBDA_TASK_ROOT on an AWS base image, the working
        directory for awslambdaric anywhere else."""
        if self.runs_emulator:
            return self.env.get("LAMBDA_TASK_ROOT", TASK_ROOT)
        return self.workdir or "/"

    @property
    def starts_runtime_client(self) -> bool:
        """True when ENTRYPOINT + CMD visibly run `PYTHON -m awslambdaric` (in exec form, or in a shell's script)."""
        return self._runtime_client() is not None

    @property
    def interpreter(self) -> str | None:
        """The Python that ENTRYPOINT + CMD start the runtime client with, if they say."""
        found = self._runtime_client()
        return found[0][found[1] - 1] if found else None

    @property
    def handler(self) -> str | None:
        """The handler the runtime gets: the word after `-m awslambdaric`, else the first argument the entrypoint
        gets (CMD's first word: the AWS base image's entrypoint and a script ending `exec python -m awslambdaric
        "$@"` pass it on). None when there is none, or it is a shell variable."""
        found = self._runtime_client()
        if found is None:
            return self.cmd[0] if self.cmd else None
        words, at = found
        named = words[at + 2] if at + 2 < len(words) else None
        return None if named is None or named.startswith("$") else named

    @property
    def cmd_is_shell_form(self) -> bool:
        """True when CMD is a shell's script (`CMD app.handler` runs `/bin/sh -c app.handler`)."""
        return script_of(self.cmd, self.shell) is not None

    def command(self, handler: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(ENTRYPOINT, CMD) as a container runs them given `handler`: in place of the handler after
        `python -m awslambdaric` when ENTRYPOINT or CMD alone holds one, else as CMD (`docker run IMAGE HANDLER`)."""
        if not handler:
            return self.entrypoint, self.cmd
        i = python_module_at(self.entrypoint, RUNTIME_CLIENT)
        if not self.cmd and i is not None and i + 2 < len(self.entrypoint):
            return (*self.entrypoint[: i + 2], handler, *self.entrypoint[i + 3 :]), ()
        j = python_module_at(self.cmd, RUNTIME_CLIENT)
        if not self.entrypoint and j is not None and j + 2 < len(self.cmd):
            return (), (*self.cmd[: j + 2], handler, *self.cmd[j + 3 :])
        return self.entrypoint, (handler,)

    def _runtime_client(self) -> tuple[Sequence[str], int] | None:
        for words in (self.argv, words_of(script_of(self.argv, self.shell) or "")):
            at = python_module_at(words, RUNTIME_CLIENT)
            if at is not None:
                return words, at
        return None


#: An AWS base image's config, for when the engine cannot show it (the stand-in and the real image agree).
AWS_BASE = ImageConfig(
    entrypoint=(AWS_ENTRYPOINT,),
    env={"LAMBDA_TASK_ROOT": TASK_ROOT, "LAMBDA_RUNTIME_DIR": "/var/runtime"},
    workdir=TASK_ROOT,
    known=False,
)


def python_module_at(command: Sequence[str], module: str | None = None) -> int | None:
    """Where `-m MODULE` starts in `PYTHON -m MODULE ...` (any module, or the one given), or None."""
    for i in range(1, len(command) - 1):
        if command[i] == "-m" and module in (None, command[i + 1]) and "python" in posixpath.basename(command[i - 1]):
            return i
    return None


def script_of(argv: Sequence[str], shell: Sequence[str] = DEFAULT_SHELL) -> str | None:
    """The script of a command that runs a shell's `-c SCRIPT` (the shell form, or written out), or None."""
    if len(argv) > len(shell) and tuple(argv[: len(shell)]) == tuple(shell):
        return argv[len(shell)]
    if argv and _SHELLS.fullmatch(posixpath.basename(argv[0])) and "-c" in argv[1:-1]:
        return argv[argv.index("-c", 1) + 1]
    return None


def words_of(script: str) -> list[str]:
    """A shell script's words, quotes removed (its plain words where it does not tokenise)."""
    try:
        return shlex.split(script, comments=True)
    except ValueError:
        return script.split()


def start(reading: Reading, base: ImageConfig | None = None) -> ImageConfig:
    """The config the final image starts from: `base` (its root image's, from the engine), else what the root's
    name tells (scratch: nothing; an AWS base image: `AWS_BASE`), else one not known."""
    if base is not None:
        return base
    root = reading.chain()[0]
    if root.lower() == "scratch":
        return ImageConfig()
    return AWS_BASE if root.startswith(AWS_BASE_PREFIXES) else ImageConfig(known=False)


@dataclass(frozen=True)
class Step:
    """One instruction of the final image's stages, the config after it, and the ARG and ENV values it sees."""

    instruction: Instruction
    config: ImageConfig
    values: Mapping[str, str]


def steps(reading: Reading, base: ImageConfig | None = None) -> Iterator[Step]:
    """The final image's instructions, from its root's (`start`) through every stage it is built FROM."""
    config = start(reading, base)
    for stage in reading.chain()[1]:
        args: dict[str, str] = {}
        cmd_set = False  # per stage: a stage's ENTRYPOINT clears the CMD it inherited, not one it set
        for ins in stage.instructions:
            values = {**args, **config.env}  # ENV wins over an ARG of the same name
            kw = ins.keyword
            if kw == "ARG":
                args.update(arg_values(ins, reading.build_args, reading.global_args, values))
            elif kw == "ENV":
                found = env_values(ins, values, strict=False)
                config = replace(config, env={**config.env, **{k: v for k, v in found.items() if v is not None}})
            elif kw == "WORKDIR":
                workdir = posixpath.join(config.workdir or "/", _filled(ins.args.strip(), values))
                config = replace(config, workdir=posixpath.normpath(workdir))
            elif kw == "USER":
                config = replace(config, user=_filled(ins.args.strip(), values))
            elif kw == "SHELL":
                config = replace(config, shell=tuple(exec_form(ins) or config.shell))
            elif kw == "CMD":
                config, cmd_set = replace(config, cmd=tuple(command(ins, config.shell))), True
            elif kw == "ENTRYPOINT":
                cmd = config.cmd if cmd_set else ()
                config = replace(config, entrypoint=tuple(command(ins, config.shell)), cmd=cmd)
            yield Step(ins, config, values)


def of_dockerfile(reading: Reading, base: ImageConfig | None = None) -> ImageConfig:
    """The config of the image a Dockerfile builds (its root's `base` config, else `start`'s)."""
    config = start(reading, base)
    for step in steps(reading, base):
        config = step.config
    return config


def _filled(word: str, values: Mapping[str, str]) -> str:
    filled = substitute(word, values, strict=False)
    return word if filled is None else filled
