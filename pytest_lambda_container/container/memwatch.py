"""The function's own memory, judged apart from /tmp, while an invocation runs.

On Lambda, /tmp does not count against the function's memory; here /tmp is a tmpfs, whose pages the kernel charges
to the container's memory cgroup. So the container's limit is memory + /tmp (a full /tmp gives ENOSPC, not a kill),
and the function's own memory is watched here: the cgroup's anonymous memory (heap, stacks: what a process owns; a
tmpfs's pages are `shmem`, and the page cache is reclaimable, so neither counts), sampled during each invocation
from the host's cgroup files: the cgroup's usage (one number, never below the anonymous memory) every 10 to 100 ms,
the sooner the nearer the limit (`watcher.pause`, as the watch inside the container does), and memory.stat only past
the limit (~0.1 ms a read: at a fixed 10 ms, the watch took 4% of a core, where the function gets 29%). Past
`--lambda-memory`, the runtime's processes are killed, as Lambda's would be, and the call fails as
`Runtime.OutOfMemory`; the emulator starts a fresh runtime for the next.
`OomWatch` judges each call by that watch, and by the cgroup's OOM-kill count for a runtime the kernel killed.

It needs the container's cgroup to be readable, and its processes signalable, from here (a local engine, run as
root or as the engine's user); where they are not, only the container's limit (memory + /tmp) holds, and
`MemoryWatch.available` says so. Where the tests do not run on the engine's host (in a container, against
`docker:dind` or a remote engine: engine/reach.py), the host's process ids in cgroup.procs mean other processes in
another pid namespace, and sampling through the engine (an exec every 10 ms) would cost the function the CPU it is
measured on: the watch runs inside the container instead (watch_inside.py), and `OomWatch` judges a call the same
way. The OOM-kill count and the peak are read inside the container there (cgroup.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FunctionError, FunctionOutOfMemory
from . import outcome
from .cgroup import Execs, anon_bytes, find_cgroup, read_oom_kills
from .watcher import pause

if TYPE_CHECKING:
    from .launch import LaunchPlan
    from .watch_inside import InsideMemoryWatch

#: The cgroup's whole usage (v1, v2): one number, cheap to read; the anonymous memory is part of it.
USAGE_FILES = ("memory.usage_in_bytes", "memory.current")


def is_namespace_init(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether `pid` is PID 1 of its own namespace: the container's init, here the emulator, which must live on."""
    try:
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return line.split()[-1] == "1"
    return False


class MemoryWatch:
    """Watches one container's anonymous memory during invocations; kills the runtime when it passes the limit."""

    def __init__(self, cgroup_dir: Path | None, memory_mb: int, *, interval: float | None = None) -> None:
        self.cgroup_dir = cgroup_dir
        self.limit = memory_mb * 1024 * 1024
        #: The pause between two samples; None: the sooner the nearer the limit (`watcher.pause`).
        self.interval = interval
        #: The anonymous memory (bytes) seen when the runtime was killed in the current invocation, else None.
        self.tripped: int | None = None
        self._active = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, container_id: str, memory_mb: int, host_root: Path = Path("/")) -> MemoryWatch:
        """The watch of a container (unavailable when its cgroup cannot be read from here)."""
        return cls(find_cgroup(container_id, host_root), memory_mb)

    @property
    def available(self) -> bool:
        """Whether the function's own memory is judged (else only the container's limit, memory + /tmp, holds)."""
        return self.cgroup_dir is not None

    def read(self) -> int | None:
        """The container's anonymous memory now, in bytes."""
        if self.cgroup_dir is None:
            return None
        try:
            return anon_bytes((self.cgroup_dir / "memory.stat").read_text())
        except OSError:
            return None

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Watch for the length of one invocation: a sampling thread wakes only while one runs."""
        self.tripped = None
        if self.cgroup_dir is None:
            yield
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lambda-memory-watch", daemon=True)
            self._thread.start()
        self._active.set()
        try:
            yield
        finally:
            self._active.clear()
            self._check()  # what the last interval did not see

    def settle(self, answer: str) -> None:
        """Nothing to read after a call: the sampling thread saw it."""

    def close(self) -> None:
        """Stop the sampling thread."""
        self._closed = True
        self._active.set()

    def usage(self) -> int | None:
        """The cgroup's whole usage now (anonymous memory, page cache, tmpfs), in bytes; None where it has no file."""
        for name in USAGE_FILES:
            try:
                return int((self.cgroup_dir / name).read_text()) if self.cgroup_dir is not None else None
            except (OSError, ValueError):
                continue
        return None

    def _run(self) -> None:
        while not self._closed:
            self._active.wait()
            if not self._closed:
                next_in = self._check()
                time.sleep(self.interval if self.interval is not None else next_in)

    def _check(self) -> float:
        """Judge the memory now (kill the runtime past the limit); how long until the next look may wait."""
        whole = self.usage()
        if whole is not None and whole <= self.limit:
            return pause(self.limit - whole)  # the function's own memory is within, whatever its share of this
        used = self.read()
        if used is not None and used > self.limit and self.tripped is None:
            self.tripped = used
            self._kill_runtime()
        return pause(0)

    def _kill_runtime(self) -> None:
        assert self.cgroup_dir is not None
        kill_runtime(self.cgroup_dir)


def kill_runtime(cgroup_dir: Path) -> bool:
    """Kill every process of the container's cgroup but the emulator (its PID 1), as Lambda ends a runtime; the
    emulator then answers the call in flight and starts a fresh runtime for the next. False if none could be."""
    try:
        pids = [int(p) for p in (cgroup_dir / "cgroup.procs").read_text().split()]
    except OSError:
        return False
    killed = False
    for pid in pids:
        if is_namespace_init(pid):
            continue
        with contextlib.suppress(OSError):  # gone already, or not ours to signal
            os.kill(pid, signal.SIGKILL)
            killed = True
    return killed


class OomWatch:
    """One container's out-of-memory judge: the function's own memory watched during each call (`MemoryWatch` from
    the host, `InsideMemoryWatch` in the container; when given), and the OOM-kill count as last seen (a kill that
    raised it was the kernel's, for memory + /tmp)."""

    def __init__(self, memory: MemoryWatch | InsideMemoryWatch | None = None) -> None:
        self.seen = 0
        self.memory = memory

    @classmethod
    def of(
        cls, container: Execs, name: str, plan: LaunchPlan, log: Callable[[str], None], *, same_host: bool = True
    ) -> OomWatch:
        """The judge of a new container: with the sandbox on, its function's own memory watched where it can be:
        inside it where the plan says (its watcher started now), else from this host (`same_host`: the tests run on
        the engine's host, whose cgroup files and processes they see)."""
        limits = plan.sandbox
        if limits is None or not limits.enabled:
            return cls()
        if plan.memwatch is not None:
            from .watch_inside import InsideMemoryWatch  # the docker SDK's delivery: only where a container runs

            inside = InsideMemoryWatch.start(container, plan.memwatch)
            if isinstance(inside, InsideMemoryWatch):
                return cls(inside)
            why = f"the watch could not start in {name}: {inside}"
        elif same_host:
            watch = MemoryWatch.of(container.id, limits.memory)
            if watch.available:
                return cls(watch)
            why = f"no cgroup of {name} on this host"
        else:
            why = f"{plan.image.ref} has no Python named in its command to run the watch in {name}"
        log(
            f"the function's own memory cannot be watched ({why}): only the container's limit holds, its "
            f"{limits.memory} MB of memory and /tmp's {limits.ephemeral_storage} MB together"
        )
        return cls(MemoryWatch(None, limits.memory))

    def watching(self) -> contextlib.AbstractContextManager[None]:
        """Watch the function's own memory for the length of one call."""
        return self.memory.watching() if self.memory is not None else contextlib.nullcontext()

    def over_memory(self, answer: str) -> FunctionOutOfMemory | None:
        """Lambda's out-of-memory error if the last call used more than the function's memory (/tmp apart); `answer`,
        the emulator's, tells a watch inside the container whether there is anything to read."""
        if self.memory is None:
            return None
        self.memory.settle(answer)
        if self.memory.tripped is None:
            return None
        # The watch kills at its first sample past the limit: what it saw is where the function was stopped, not
        # what it would have used. Rounded up, so that a figure a few KB past the limit never reads as the limit.
        stopped, limit = -(-self.memory.tripped // 2**20), self.memory.limit // 2**20
        return outcome.out_of_memory(memory=limit, stopped=stopped)

    def close(self) -> None:
        """Stop watching (the container is gone)."""
        if self.memory is not None:
            self.memory.close()

    def killed_for_memory(self, container: Execs, error: FunctionError) -> bool:
        """Whether the kernel killed the runtime of `error` for memory: killed, and the OOM-kill count rose since."""
        if not outcome.was_killed(error):
            return False
        count = read_oom_kills(container)
        if count is None or count <= self.seen:
            return False
        self.seen = count
        return True


def _engine_address() -> str:
    """The engine's address as the docker CLI finds it (a context's too); "" where it cannot be told."""
    from ..engine.endpoint import resolve
    from ..errors import EngineUnavailable

    try:
        return resolve().address
    except EngineUnavailable:
        return ""


def swap_note(host_root: Path = Path("/"), docker_host: str | None = None) -> str:
    """How swap stands for the sandbox's containers, for the report header: none (the limit equals the memory), or
    not limited where the host has swap and its kernel does not account it (cgroup v1 without memsw)."""
    host = _engine_address() if docker_host is None else docker_host
    if host and not host.startswith("unix://"):
        return "no swap where the engine's kernel accounts it"
    try:
        swaps = (host_root / "proc/swaps").read_text().splitlines()[1:]
    except OSError:
        swaps = []
    if not swaps:
        return "no swap"
    v1 = host_root / "sys/fs/cgroup/memory"
    if v1.is_dir():
        accounted = (v1 / "memory.memsw.limit_in_bytes").exists()
    else:  # v2: any child cgroup has memory.swap.max when the kernel accounts swap
        accounted = any((host_root / "sys/fs/cgroup").glob("*/memory.swap.max"))
    return "no swap" if accounted else "swap NOT limited: this host's kernel does not account it"
