"""What a test run does to a running container besides invoking it: run a command in it, change its CPU, kill its
runtime after a timeout, read its peak memory. A mixin of `DockerContainer` (docker.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from docker.models.containers import Container

from ..engine.client import Engine
from ..errors import ContainerError, LambdaContainerError
from . import cgroup, memwatch
from .sandbox import Sandbox

if TYPE_CHECKING:
    from .launch import LaunchPlan

#: How an exec says its program is not there or cannot run (POSIX shells' and the engines' 127 and 126).
_NO_PROGRAM = (126, 127)
#: How long an exec whose output has ended may take to have its exit status recorded by the engine.
EXEC_SETTLE = 5.0


def settled_exit_code(inspect: Callable[[], Mapping[str, Any]], *, wait: float = EXEC_SETTLE) -> int:
    """An ended exec's exit status, from the engine's inspection (`inspect`), asked again until it has one.

    The engine ends an exec's output stream before it records the exec's exit: inspected at once, a loaded engine
    can answer "Running": true, "ExitCode": null (https://github.com/moby/moby/issues/19607; docker-py's `exec_run`
    returns that None as the exit code). Read as 0, a start-up check that found no runtime would pass. (Suspected in
    issue 17's e2e flake, an image with no runtime that passed its setup, but not seen: Docker 20.10 records the exit
    before it ends the output.) Past `wait`, `ContainerError`: the status is unknown.
    """
    deadline = time.monotonic() + wait
    while True:
        state = inspect()
        code = state.get("ExitCode")
        if code is not None and not state.get("Running"):
            return int(code)
        if time.monotonic() > deadline:
            raise ContainerError(f"the engine recorded no exit status for a command that ended (after {wait:g}s)")
        time.sleep(0.01)


class RunningControls:
    """The commands, resource updates and reads of a running container, through the engine."""

    engine: Engine
    container: Container
    id: str
    name: str
    plan: LaunchPlan

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: Mapping[str, str]) -> tuple[int, str]:
        """Run `argv` in the container; its exit code and output (both streams, the first line's indent kept)."""
        code, output = self._exec(argv, demux=False, workdir=workdir, environment=dict(environment))
        return code, (output or b"").decode("utf-8", "replace").rstrip()

    def exec_apart(self, argv: tuple[str, ...]) -> tuple[int, bytes, bytes]:
        """Run `argv` in the container; its exit code, and its output and error output apart, as bytes."""
        code, (out, err) = self._exec(argv, demux=True)
        return code, out or b"", err or b""

    def _exec(self, argv: tuple[str, ...], *, demux: bool, **options: Any) -> tuple[int, Any]:
        """The engine's exec of `argv`: its exit status once the engine has recorded it, and its output as docker-py
        gives it (bytes; with `demux`, the two streams apart)."""
        api = self.engine.client.api
        with self.engine.errors(f"a command in container {self.name}"):
            created = api.exec_create(self.id, list(argv), **options)
            output = api.exec_start(created["Id"], demux=demux)
            code = settled_exit_code(lambda: api.exec_inspect(created["Id"]))
        return code, output

    def update_cpus(self, vcpus: float) -> bool:
        """Give the running container `vcpus` of CPU (a quota: Docker cannot change nano_cpus); False if refused."""
        cpu = Sandbox.cpu_update(vcpus)
        try:
            with self.engine.errors(f"a CPU update of container {self.name}"):
                self.container.update(cpu_period=cpu["cpu_period"], cpu_quota=cpu["cpu_quota"])
        except LambdaContainerError:
            return False
        return True

    def kill_runtime(self) -> bool:
        """Kill the runtime's processes but not the emulator (PID 1), which answers the call in flight and starts a
        fresh runtime for the next, as Lambda does after a timeout: from the host's cgroup where the engine runs
        here, else from inside. False if neither could.

        With the memory watch inside the container, its watcher kills them, sparing itself: a kill of every
        process, from the host or by `kill -9 -1`, would end it too."""
        watch = self.plan.memwatch
        if watch is not None:
            try:
                code, _ = self.exec(watch.kill_argv(), workdir="/", environment={})
            except LambdaContainerError:
                return False
            if code not in _NO_PROGRAM:
                return code == 0
        found = cgroup.find_cgroup(self.id)
        if found is not None and memwatch.kill_runtime(found):
            return True
        try:
            # kill(-1) signals every process the caller may, but PID 1 and itself.
            code, _ = self.exec(("sh", "-c", "kill -9 -1"), workdir="/", environment={})
        except LambdaContainerError:
            return False
        return code == 0

    def peak_memory(self) -> int | None:
        """The container's peak memory use since it started, in bytes (None where the engine does not tell)."""
        return cgroup.read_peak(self)
