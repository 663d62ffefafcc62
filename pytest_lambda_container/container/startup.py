"""The start-up check: before the first test, tell that the image's runtime can start and its handler loads.

The emulator starts the runtime lazily, on the first invoke, so an image that cannot start one (the runtime client
not installed, no ENTRYPOINT so that CMD's handler name is taken for a program, a bare interpreter) would answer every
invoke with an empty response. The check runs one command in the fresh container, with the runtime's own
interpreter, working directory and environment, and calls nothing the user wrote but the handler module's import:

- `PYTHON -m MODULE [HANDLER]` (awslambdaric), or the AWS base image's runtime: a script finds MODULE the way
  `python -m` does (Python's own words when it cannot), then loads the handler the way the runtime does;
- any other command: whether its program is where the emulator will look for it (the image's PATH, as Go's
  exec.LookPath does for the emulator), asked of the image's `sh`; without a shell the first invoke will tell.

An interpreter with nothing to run is refused from the image's config alone. A warm-up invocation would tell as
well, but it would call the user's handler with an event of ours, and move the cold start out of the first test.
"""

from __future__ import annotations

import os
import re
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..build.image import ImageInfo
from ..build.image_config import RUNTIME_START, python_module_at
from ..errors import HandlerImportError, LambdaContainerError, RuntimeUnavailable

#: The most the check may take before the session goes on without it.
CHECK_LIMIT = 60.0
#: The check's exit status when the handler cannot be loaded (its last output line says why).
HANDLER_CHECK_FAILED = 3
#: ... when the runtime's module or program is not there (its last output line says so, as the runtime would).
RUNTIME_MISSING = 4
RUNTIME_FIX = (
    "Install the runtime interface client in the image (RUN pip install awslambdaric) and start it with "
    f"{RUNTIME_START} (your module.function), "
    "or build FROM public.ecr.aws/lambda/python, whose entrypoint starts it."
)

# Finds the runtime module as `python -m` does, then loads the handler the way the Python runtime does (module path,
# then the attribute), without invoking it. One output stream: the verdict comes out last.
CHECK_SCRIPT = r"""
import importlib, importlib.util, os, sys, traceback
handler, runtime = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.getcwd())
if runtime:
    try:
        spec = importlib.util.find_spec(runtime)
        if spec is not None and spec.submodule_search_locations is not None:
            if importlib.util.find_spec(runtime + ".__main__") is None:
                print(f"{sys.executable}: No module named {runtime}.__main__; '{runtime}' is a package and cannot be "
                      "directly executed"); sys.exit(4)
    except Exception as exc:
        print(f"{sys.executable}: Error while finding module specification for {runtime!r} "
              f"({type(exc).__name__}: {exc})"); sys.exit(4)
    if spec is None:
        print(f"{sys.executable}: No module named {runtime}"); sys.exit(4)
if not handler:
    sys.exit(0)
module_name, _, function = handler.rpartition(".")
if not module_name or not function:
    print(f"Runtime.MalformedHandlerName: Bad handler '{handler}': not enough values to unpack"); sys.exit(3)
try:
    module = importlib.import_module(module_name.replace("/", "."))
except Exception as exc:
    # The user's frames only: not this script's (<string>), nor importlib's own (its file, its frozen bootstrap).
    skip = ("<string>", "<frozen ", os.path.dirname(importlib.__file__) + os.sep)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(skip)]
    print("".join(traceback.format_list(frames)), end="")
    print(f"Runtime.ImportModuleError: Unable to import module '{module_name}': {exc}"); sys.exit(3)
if not hasattr(module, function):
    print(f"Runtime.HandlerNotFound: Handler '{function}' missing on module '{module_name}'"); sys.exit(3)
"""
# Whether the program ($1) is an executable file where exec would find it: a path as it is, a name on the PATH; if not,
# what the emulator (Go's exec) would say, and the RUNTIME_MISSING status.
PROGRAM_CHECK = r"""
case "$1" in
  */*) [ -f "$1" ] && [ -x "$1" ] && exit 0
       if [ -e "$1" ]; then echo "exec: \"$1\": permission denied"
       else echo "exec: \"$1\": stat $1: no such file or directory"; fi ;;
  *) command -v -- "$1" >/dev/null 2>&1 && exit 0
     echo "exec: \"$1\": executable file not found in \$PATH" ;;
esac
exit 4
"""
#: How engines say that the program of an exec does not exist (Docker's runc, Podman's crun).
_EXEC_FAILED = re.compile(r'(exec: "[^"]*": [^\n]*?)(?:: unknown)?$|(executable file `[^`]*` not found[^\n:]*)', re.M)


@dataclass(frozen=True)
class StartupCheck:
    """A command run in the new container that tells whether the runtime can start and the handler loads."""

    #: The runtime's command, as the emulator will start it.
    command: tuple[str, ...]
    argv: tuple[str, ...]
    workdir: str
    environment: Mapping[str, str] = field(default_factory=dict)
    #: The handler it loads ("" when it checks only the runtime's program).
    handler: str = ""
    #: Whether argv's program is the runtime's own (its absence is then the verdict), not a helper of the check.
    runs_the_runtimes_program: bool = True


def check_for(image: ImageInfo, command: Sequence[str]) -> StartupCheck | None:
    """The check of `image` running `command` under the emulator (None: nothing to check).

    Raises `RuntimeUnavailable` when the command's shape alone says it cannot start a runtime.
    """
    if image.runs_emulator:
        if not command:
            return None
        # The AWS base image's runtime (awslambdaric and its bootstrap) lives in LAMBDA_RUNTIME_DIR.
        environment = {"PYTHONPATH": image.config.env.get("LAMBDA_RUNTIME_DIR", "/var/runtime")}
        argv = ("/var/lang/bin/python3", "-c", CHECK_SCRIPT, command[0], "")
        # Not the runtime's own program: an AWS base image of another language (Node.js, Java, provided) has no
        # /var/lang/bin/python3, and that says nothing against its runtime; the check is then skipped.
        return StartupCheck(
            tuple(command),
            argv,
            image.config.import_root,
            environment,
            handler=command[0],
            runs_the_runtimes_program=False,
        )
    workdir = image.config.import_root
    if len(command) == 1 and re.fullmatch(r"python[0-9.]*", os.path.basename(command[0])):
        raise RuntimeUnavailable(
            f"{command[0]}: an interpreter with no program to run exits at once (the emulator says "
            '"Runtime exited without providing a reason")',
            _cannot_start(image.ref, command),
        )
    i = python_module_at(command)
    if i is not None:
        handler = command[i + 2] if i + 2 < len(command) else ""
        argv = (command[i - 1], "-c", CHECK_SCRIPT, handler, command[i + 1])
        return StartupCheck(tuple(command), argv, workdir, handler=handler)
    argv = ("sh", "-c", PROGRAM_CHECK, "sh", command[0])
    return StartupCheck(tuple(command), argv, workdir, runs_the_runtimes_program=False)


def verdict(check: StartupCheck, image_ref: str, code: int, output: str) -> LambdaContainerError | None:
    """The error the check's outcome stands for, or None when the runtime can start and the handler loads (or when
    the check could not tell: the first invoke will)."""
    lines = output.splitlines()
    last = lines[-1] if lines else ""
    if code == RUNTIME_MISSING and last:
        return RuntimeUnavailable(last, _cannot_start(image_ref, check.command))
    if code in (126, 127) and check.runs_the_runtimes_program:
        found = _EXEC_FAILED.search(output)
        cause = next((g for g in found.groups() if g), "") if found else ""
        cause = cause or (lines[0] if lines else f"{check.argv[0]} exited with status {code}")
        return RuntimeUnavailable(cause, _cannot_start(image_ref, check.command))
    if code == HANDLER_CHECK_FAILED and check.handler:
        error_type, _, message = (last or "Runtime.ImportModuleError: unknown").partition(": ")
        return HandlerImportError(
            error_type,
            f"{message} (handler {check.handler!r} of {image_ref}; the runtime would fail every invoke)",
            lines[:-1],
        )
    return None


def _cannot_start(image_ref: str, command: Sequence[str]) -> str:
    return (
        f"image {image_ref} cannot start a Lambda runtime: the emulator would run `{shlex.join(command)}`, which "
        f"fails before it serves any invocation, so every invoke would come back empty. {RUNTIME_FIX}"
    )


class Execs(Protocol):
    """A container that runs commands (`DockerContainer`)."""

    name: str

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: Mapping[str, str]) -> tuple[int, str]: ...


def run(
    container: Execs, check: StartupCheck, image_ref: str, *, limit: float, log: Callable[[str], None]
) -> LambdaContainerError | None:
    """Run the check for at most `limit` seconds, saying so when it is slow; the error it found, or None."""
    outcome: list[tuple[int, str]] = []
    what = f"handler {check.handler}" if check.handler else f"runtime `{shlex.join(check.command)}`"

    def run_it() -> None:
        try:
            outcome.append(container.exec(check.argv, workdir=check.workdir, environment=check.environment))
        except LambdaContainerError as exc:
            # The check is advisory: the first invoke reports what it could not tell. Said, for a session whose
            # tests make no call then passes with an image that cannot run (issue 17: an e2e flake, cause unknown).
            log(f"could not check {what} in {container.name} ({exc}); the first invoke will tell")

    # Bounded: a module that takes minutes to import must not hold the session without a word.
    worker = threading.Thread(target=run_it, daemon=True)
    worker.start()
    worker.join(5.0)
    if worker.is_alive():
        log(f"checking {what} in {container.name}: still at it after 5s...")
    worker.join(max(0.0, limit - 5.0))
    if not outcome:
        if worker.is_alive():
            log(f"{what} still loading after {limit:g}s; going on without the check (the first invoke loads it)")
        return None
    error = verdict(check, image_ref, *outcome[0])
    if error is not None:
        error.container = container.name
    return error
