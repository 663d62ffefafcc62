"""The memory watch inside the function's container, where the host's cgroup files and processes are out of reach.

Where the tests do not run on the engine's host (in a container with the host's socket mounted, against `docker:dind`
or a remote engine: engine/reach.py), the host's watch (memwatch.py) cannot read the container's cgroup nor signal its
processes. So the watch runs in the container: `watcher.py`, delivered read-only in a volume of its own (delivery.py)
and started once the container runs, by an exec, on the image's Python (an AWS base image's /var/lang/bin/python3, or
the one its command starts the runtime client with) as the sandbox's user; it lives until the container is removed,
and outlives the emulator's resets. It keeps its record (kills, the figure it stopped at) on a tmpfs of its own, read
by an exec only when a call's answer says its runtime was killed (or is empty: an init killed): an ordinary call
costs nothing more. `OomWatch` judges a call the same way whichever watch ran. Unlike the host's, it watches the
warm-up's init too: an init past the memory is said at the start (warmup.py), and each call is then out of memory,
as with the host's watch.

Its cost to the function, whose container's CPU quota pays for it (the watcher's utime+stime from /proc/PID/stat over
40-60 s; Docker 20.10, cgroup v1, a 2-core host under a load of 7-13; against the function's 0.29 vCPU at 512 MB):
at rest, a read of the cgroup's usage every 45-50 ms, 1.2-1.5 ms of CPU a second (0.4-0.5% of the function's
share); with its heap at 400 of its 512 MB, a read every 10 ms, 4-7.5 ms a second (1.4-2.6%); with /tmp and heap past
512 MB together (450 + 100 MB), memory.stat too, every 40 ms, 7 ms a second (2.4%). Sampling every 10 ms whatever the
memory cost 5.5 ms a second at rest and 20 ms a second with /tmp full (1.9% and 6.8%): the pause follows the headroom
(watcher.py's `pause`), so the watch is as quick as the host's where it matters and cheap elsewhere.

`PYTEST_LAMBDA_CONTAINER_MEMWATCH=inside` runs the watch inside on the engine's host too (to test it where it runs).
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LambdaContainerError
from . import outcome, watcher
from .cgroup import Execs
from .delivery import Bundle, deliver
from .inside import MOUNT as INSIDE_MOUNT

if TYPE_CHECKING:
    from ..build.image import ImageInfo
    from ..engine.client import Engine
    from .launch import LaunchPlan

#: Where the watcher is mounted, and the tmpfs it keeps its record on (a few bytes).
MOUNT = f"{INSIDE_MOUNT}/memwatch"
STATE_DIR = "/var/pytest-lambda-memwatch"
STATE_TMPFS = "size=64k,mode=1777"
#: "inside": the watch runs in the container even where the tests run on the engine's host.
FORCE_VARIABLE = "PYTEST_LAMBDA_CONTAINER_MEMWATCH"
#: An AWS base image's Python (its Python runtime's; other languages' base images have none).
AWS_PYTHON = "/var/lang/bin/python3"
#: What `watcher.py watch` says when it runs: its pid, and the kills so far (a container of an earlier run).
_STARTED = re.compile(r"watching .* as pid (\d+), (\d+) kills so far")


def runs_inside(same_host: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the watch runs in the container: where the tests are not on the engine's host, or when forced."""
    return not same_host or environ.get(FORCE_VARIABLE, "").strip().lower() == "inside"


def interpreter(image: ImageInfo) -> str | None:
    """The image's Python, as its runtime is found: an AWS base image's, or the one that starts awslambdaric."""
    return AWS_PYTHON if image.runs_emulator else image.config.interpreter


def bundle() -> Bundle:
    """The watcher, as delivered."""
    return Bundle.of("memwatch", MOUNT, {"watcher.py": Path(watcher.__file__)})


@dataclass(frozen=True)
class InsideWatch:
    """How the watch runs in a container: the image's `python`, the function's memory."""

    python: str
    memory_mb: int

    def argv(self, *args: str) -> tuple[str, ...]:
        # -I -S: none of the container's PYTHON* variables (coverage's sitecustomize), no site-packages.
        return (self.python, "-I", "-S", f"{MOUNT}/watcher.py", *args)

    def start_argv(self) -> tuple[str, ...]:
        return self.argv("watch", str(self.memory_mb * 2**20), STATE_DIR)

    def kill_argv(self) -> tuple[str, ...]:
        """Kill the runtime's processes but the emulator and the watcher."""
        return self.argv("kill", STATE_DIR)

    def read_argv(self) -> tuple[str, ...]:
        return self.argv("read", STATE_DIR)


def apply(plan: LaunchPlan, engine: Engine) -> LaunchPlan:
    """`plan` with the memory watch in its container where it runs there (the sandbox on, `runs_inside`, a Python
    in the image); else as it is (`memwatch.OomWatch.of` says what holds instead)."""
    limits = plan.sandbox
    if limits is None or not limits.enabled or not runs_inside(engine.reach.same_host):
        return plan
    python = interpreter(plan.image)
    if python is None:
        return plan
    volume = deliver(engine, bundle(), helper_image=plan.image.id)
    return plan.with_memwatch(InsideWatch(python, limits.memory), volume, MOUNT, {STATE_DIR: STATE_TMPFS})


def started(code: int, output: str) -> int | None:
    """The kills so far that a watcher's start reports, or None when it did not start."""
    found = _STARTED.search(output)
    return int(found.group(2)) if code == 0 and found else None


def read_record(code: int | None, output: str) -> tuple[int, int] | str:
    """The watcher's record (kills so far, the figure it stopped the last at) from its `read` (exit status, output;
    None and the engine's words when the exec itself failed), or why it could not be read."""
    if code is None:
        return f"the engine did not run the read: {output}"
    last = (output.strip().splitlines() or ["no output"])[-1]
    if code != 0:
        return f"the watcher's read exited with status {code}: {last}"
    return watcher.parse_record(output) or f"the watcher's read printed no record: {last}"


#: What `read_record` says of a read that ended well and printed nothing.
EMPTY_READ = read_record(0, "")


def unread_warning(container: str, memory_mb: int, why: str) -> str:
    """What a call whose runtime was killed says when the memory watch's record could not be read."""
    return (
        f"pytest-lambda-container: the memory watch in container {container[:12]} could not be read after a call "
        f"whose runtime was killed ({why}): whether the function was stopped for using more than its {memory_mb} MB "
        "is unknown, so the call is reported as the emulator answered it, never as Runtime.OutOfMemory"
    )


class InsideMemoryWatch:
    """The host's side of a watcher in a container: whether it stopped the last call, read only when asked."""

    available = True

    def __init__(self, container: Execs, spec: InsideWatch, *, seen: int = 0) -> None:
        self.container = container
        self.spec = spec
        self.limit = spec.memory_mb * 2**20
        #: The kills of the watcher's record already told of.
        self.seen = seen
        #: The anonymous memory (bytes) the watcher stopped the current call at, else None.
        self.tripped: int | None = None

    @classmethod
    def start(cls, container: Execs, spec: InsideWatch) -> InsideMemoryWatch | str:
        """The watch of a started container, or why it could not start (in the watcher's or the engine's words)."""
        try:
            code, output = container.exec(spec.start_argv(), workdir="/", environment={})
        except LambdaContainerError as exc:
            return str(exc)
        seen = started(code, output)
        if seen is None:
            return (output.strip().splitlines() or [f"exit status {code}"])[-1]
        return cls(container, spec, seen=seen)

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """A call: the watcher samples on its own; what it did is read after (`settle`)."""
        self.tripped = None
        yield

    def settle(self, answer: str) -> None:
        """Read the watcher's record if `answer` (the emulator's) says the runtime was killed, or is empty (a runtime
        killed in its init): a kill it counted since the last one told of stopped this call. A record that cannot be
        read is a warning (`unread_warning`), never a silent verdict."""
        if answer.strip() and not outcome.killed_answer(answer):
            return
        record = self._read()
        if record == EMPTY_READ:
            # Once more: Podman's exec, under load, has ended its output stream before the output (status 0, no
            # output, where the watcher always prints its record: seen in CI).
            record = self._read()
        if isinstance(record, str):
            # Never a silent "not out of memory": the call's own error stands, and the user is told it may be wrong.
            warnings.warn(unread_warning(self.container.id, self.spec.memory_mb, record), stacklevel=2)
        elif record[0] > self.seen:
            self.seen, self.tripped = record

    def _read(self) -> tuple[int, int] | str:
        try:
            code, output = self.container.exec(self.spec.read_argv(), workdir="/", environment={})
        except LambdaContainerError as exc:
            code, output = None, str(exc)
        return read_record(code, output)

    def close(self) -> None:
        """Nothing to stop: the watcher goes with its container."""
