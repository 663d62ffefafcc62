"""The container's memory cgroup: how many processes the kernel killed in it for memory.

The emulator reports a runtime killed for memory as any other kill (`Runtime.ExitError` "signal: killed"), and
Docker's `OOMKilled` stays false (the emulator, PID 1, survives): only the cgroup's OOM-kill counter tells them
apart. Read when a runtime was killed, never on an ordinary call.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import FunctionError, FunctionOutOfMemory, LambdaContainerError
from .memwatch import MemoryWatch

if TYPE_CHECKING:
    from .sandbox import Sandbox

#: cgroup v1's memory.oom_control and v2's memory.events both have this line (v1 since Linux 4.13).
_OOM_KILL = re.compile(r"^oom_kill (\d+)$", re.MULTILINE)
#: As the container sees its own cgroup (v1, then v2), and as the host sees Docker's (cgroupfs and systemd drivers).
INSIDE = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")
PEAK_INSIDE = ("/sys/fs/cgroup/memory/memory.max_usage_in_bytes", "/sys/fs/cgroup/memory.peak")
ON_HOST = (
    "/sys/fs/cgroup/memory/docker/{id}/memory.oom_control",
    "/sys/fs/cgroup/memory/system.slice/docker-{id}.scope/memory.oom_control",
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.events",
    "/sys/fs/cgroup/docker/{id}/memory.events",
)


class Execs(Protocol):
    """What is read of a container: its id, and a command run in it."""

    id: str

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: dict[str, str]) -> tuple[int, str]: ...


def oom_kills(text: str) -> int | None:
    """The OOM-kill count in a memory.oom_control (v1) or memory.events (v2) text, None if it has none."""
    match = _OOM_KILL.search(text)
    return int(match.group(1)) if match else None


def read_oom_kills(container: Execs, host_root: Path = Path("/")) -> int | None:
    """The container's OOM-kill count: from the host's cgroup files when the engine runs here, else by `cat` in the
    container; None when neither tells."""
    return _read(container, ON_HOST, INSIDE, oom_kills, host_root)


def peak_bytes(text: str) -> int | None:
    """The number in a memory.max_usage_in_bytes (v1) or memory.peak (v2) text (the first line that is one)."""
    return next((int(line) for line in text.split() if line.isdigit()), None)


def read_peak(container: Execs, host_root: Path = Path("/")) -> int | None:
    """The container's peak memory use since it started, in bytes (files in a tmpfs count); None when unknown."""
    on_host = tuple(
        t.replace("memory.oom_control", "memory.max_usage_in_bytes").replace("memory.events", "memory.peak")
        for t in ON_HOST
    )
    return _read(container, on_host, PEAK_INSIDE, peak_bytes, host_root)


def _read(
    container: Execs,
    on_host: tuple[str, ...],
    inside: tuple[str, ...],
    parse: Callable[[str], int | None],
    host_root: Path,
) -> int | None:
    for template in on_host:
        path = host_root / template.format(id=container.id).lstrip("/")
        try:
            value = parse(path.read_text())
        except OSError:
            continue
        if value is not None:
            return value
    try:
        _, output = container.exec(("cat", *inside), workdir="/", environment={})
    except LambdaContainerError:
        return None
    return parse(output)


def was_killed(error: FunctionError) -> bool:
    """Whether the emulator says the runtime was killed (by the kernel for memory, or by anything else)."""
    return error.error_type == "Runtime.ExitError" and "signal: killed" in error.error_message


class OomWatch:
    """One container's out-of-memory judge: the function's own memory watched during each call (`memwatch`, when
    given), and the OOM-kill count as last seen (a kill that raised it was the kernel's, for memory + /tmp)."""

    def __init__(self, memory: MemoryWatch | None = None) -> None:
        self.seen = 0
        self.memory = memory

    @classmethod
    def of(cls, container_id: str, name: str, limits: Sandbox | None, log: Callable[[str], None]) -> OomWatch:
        """The judge of a new container: with the sandbox on, its function's own memory watched where it can be."""
        if limits is None or not limits.enabled:
            return cls()
        watch = MemoryWatch.of(container_id, limits.memory)
        if not watch.available:
            log(
                f"the function's own memory cannot be read from here (no cgroup of {name} on this host): only the "
                f"container's limit holds, its {limits.memory} MB of memory and /tmp's {limits.ephemeral_storage} MB "
                "together"
            )
        return cls(watch)

    def watching(self) -> contextlib.AbstractContextManager[None]:
        """Watch the function's own memory for the length of one call."""
        return self.memory.watching() if self.memory is not None else contextlib.nullcontext()

    def over_memory(self) -> FunctionOutOfMemory | None:
        """Lambda's out-of-memory error if the last call used more than the function's memory (/tmp apart)."""
        if self.memory is None or self.memory.tripped is None:
            return None
        # The watch kills at its first sample past the limit: what it saw is where the function was stopped, not
        # what it would have used. Rounded up, so that a figure a few KB past the limit never reads as the limit.
        stopped, limit = -(-self.memory.tripped // 2**20), self.memory.limit // 2**20
        return FunctionOutOfMemory(
            "Runtime.OutOfMemory",
            f"The function ran out of memory: it went past its {limit} MB (stopped at {stopped} MB; files in /tmp "
            "apart) and was killed, as Lambda would kill it. Raise --lambda-memory, or use less.",
            [],
        )

    def close(self) -> None:
        """Stop watching (the container is gone)."""
        if self.memory is not None:
            self.memory.close()

    def classify(self, container: Execs, error: FunctionError, *, memory: int | None) -> FunctionError:
        """`FunctionOutOfMemory` for a runtime the kernel killed for memory, else `error` as it is."""
        if not was_killed(error):
            return error
        count = read_oom_kills(container)
        if count is None or count <= self.seen:
            return error
        self.seen = count
        limit = f"its {memory} MB of memory and the files in /tmp" if memory else "the container's memory limit"
        oom = FunctionOutOfMemory(
            "Runtime.OutOfMemory",
            f"{error.error_message}\nThe function ran out of memory: it used more than {limit} together, and the "
            "kernel killed it, as Lambda would. Raise --lambda-memory, or use less.",
            error.stack_trace,
            payload=error.payload,
        )
        return oom
