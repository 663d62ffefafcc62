"""Lambda's execution environment as container limits, pure: read-only root, a sized /tmp, memory, CPU, a user.

On by default (`--lambda-sandbox off` to opt out), so that what only fails on Lambda fails here first. The
container's memory limit is the function's memory plus /tmp: Lambda's /tmp does not count against the function's
memory, but a tmpfs does, and Docker has no size-capped disk without xfs quotas; the function's own memory is then
judged apart from /tmp by `memwatch`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, FunctionError

DEFAULT_MEMORY = 512
DEFAULT_EPHEMERAL = 512
MEMORY_RANGE = (128, 10240)
EPHEMERAL_RANGE = (512, 10240)
#: Lambda gives one full vCPU at 1,769 MB and CPU in proportion to memory
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
MB_PER_VCPU = 1769
#: The init's CPU: what users measure on Lambda during an init, whatever the memory (see `Sandbox.burst_vcpus`).
BURST_VCPUS = 2.0
#: The CFS period of the CPU quota, in microseconds (the kernel's and Docker's default); the quota's floor is 1 ms.
CPU_PERIOD = 100_000
#: Lambda's "File descriptors: 1,024" and "Execution processes/threads: 1,024" per execution environment
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
OPEN_FILES = 1024
PROCESSES = 1024
#: The emulator (PID 1, aws-lambda-rie, a Go program) shares the container's pids cgroup with the function: 7
#: threads idle here (Docker 20.10, measured with /proc/1/task), and Go's runtime starts more while goroutines block
#: in system calls. This much room on top of the function's 1,024, so that the function gets its whole share and the
#: emulator still answers when the function has used it up.
EMULATOR_TASKS = 64
#: The uid:gid AWS's base images run functions as (sbx_user1051); never 0, never the image's USER.
USER = "993:990"

READ_ONLY_HINT = (
    "Lambda's filesystem is read-only except /tmp: write to /tmp (or, to run without Lambda's sandbox, "
    "pass --lambda-sandbox off)"
)
PERMISSION_HINT = (
    f"Lambda runs the function as an unprivileged user (here uid:gid {USER}), not root: make the file readable "
    "by all (chmod a+r in the Dockerfile), or pass --lambda-sandbox off to run as the image's user"
)
NO_SPACE_HINT = (
    "Lambda's /tmp holds only its ephemeral storage (512 MB unless --lambda-ephemeral-storage says more): write "
    "less there, or raise --lambda-ephemeral-storage (ini lambda_ephemeral_storage) as you would on Lambda"
)
MEMORY_HINT = (
    "the function has only its memory (--lambda-memory, 512 MB by default), as on Lambda: use less, or raise "
    "--lambda-memory (ini lambda_memory) as you would on Lambda"
)
#: A sandbox limit at work, in the function's own words (its error, a line of its log), and what to do about it.
CAUSES = (
    (re.compile(r"\[Errno 30\]|Read-only file system"), READ_ONLY_HINT),
    (re.compile(r"\[Errno 13\]|Permission denied"), PERMISSION_HINT),
    (re.compile(r"\[Errno 28\]|No space left on device"), NO_SPACE_HINT),
    (re.compile(r"\bMemoryError\b|\[Errno 12\]|Cannot allocate memory"), MEMORY_HINT),
)


@dataclass(frozen=True)
class Sandbox:
    """Lambda's limits for one function's container; `enabled=False` runs it as a plain `docker run` would."""

    enabled: bool = True
    memory: int = DEFAULT_MEMORY
    ephemeral_storage: int = DEFAULT_EPHEMERAL
    #: vCPUs; None: Lambda's share of `memory`, at most the host's cores.
    cpus: float | None = None
    host_cpus: int = 1
    #: How swap stands here (memwatch.swap_note): "no swap", or why it is not limited.
    swap: str = "no swap"

    @property
    def vcpus(self) -> float:
        """The CPU share the container gets."""
        share = self.cpus if self.cpus is not None else self.memory / MB_PER_VCPU
        return min(share, float(self.host_cpus))

    def create_options(self, vcpus: float | None = None) -> dict[str, Any]:
        """The docker SDK's `containers.create` keyword arguments of these limits (none when disabled); `vcpus`: the
        CPU to start with, when not the share (the init's burst, `warmup.start_vcpus`)."""
        if not self.enabled:
            return {}
        limit = f"{self.memory + self.ephemeral_storage}m"
        return {
            "read_only": True,
            # mode 1777: the unprivileged user must be able to write there, as on Lambda.
            "tmpfs": {"/tmp": f"size={self.ephemeral_storage}m,mode=1777"},
            "mem_limit": limit,
            # Equal to the memory limit: no swap, as on Lambda.
            "memswap_limit": limit,
            # A quota rather than nano_cpus, which Docker cannot change on a running container: the init's burst
            # (`burst_vcpus`) is set back to this share for the invocations (`warmup`).
            **self.cpu_update(vcpus or self.vcpus),
            "user": USER,
            # A soft and hard open-file limit for every process, as `ulimit -n` shows on Lambda.
            "ulimits": [{"name": "nofile", "soft": OPEN_FILES, "hard": OPEN_FILES}],
            # Processes and threads by the container's pids cgroup, not an nproc ulimit: nproc counts every process
            # of the uid on the host, so containers of the same user (a pool, a parallel run) would share 1,024.
            "pids_limit": PROCESSES + EMULATOR_TASKS,
        }

    @property
    def burst_vcpus(self) -> float:
        """The CPU the init gets: Lambda gives it a burst above the memory's share (AWS's Lambda Web Adapter docs
        speak of "10 seconds for function initialization with burst CPU"; users measure up to 2 vCPUs), here at
        most the host's cores."""
        return min(max(self.vcpus, BURST_VCPUS), float(self.host_cpus))

    @staticmethod
    def cpu_update(vcpus: float) -> dict[str, int]:
        """The docker SDK's keyword arguments (`create`, `update`) that give a container `vcpus` of CPU."""
        return {"cpu_period": CPU_PERIOD, "cpu_quota": max(1000, int(vcpus * CPU_PERIOD))}

    def header(self) -> str:
        """One line for the report header."""
        if not self.enabled:
            return "sandbox off (--lambda-sandbox off): root, writable filesystem, the host's memory and CPU"
        return (
            f"sandbox on: memory {self.memory} MB ({self.swap}), /tmp {self.ephemeral_storage} MB, "
            f"{self.vcpus:.2f} vCPU, user {USER}, read-only filesystem, {OPEN_FILES:,} open files, "
            f"{PROCESSES:,} processes/threads"
        )


def _megabytes(value: str | int, source: str, what: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    valid = f"a whole number of MB from {low} to {high:,} (Lambda's range)"
    try:
        number = int(str(value).strip().removesuffix("MB").strip())
    except ValueError:
        raise ConfigError(f"{source}: {what} {value!r} is not a number; give {valid}") from None
    if not low <= number <= high:
        raise ConfigError(f"{source}: {what} {number} MB is out of Lambda's range; give {valid}")
    return number


def parse_memory(value: str | int, source: str) -> int:
    """The function's memory in MB, within Lambda's 128-10,240."""
    return _megabytes(value, source, "memory", MEMORY_RANGE)


def parse_ephemeral_storage(value: str | int, source: str) -> int:
    """The size of /tmp in MB, within Lambda's 512-10,240."""
    return _megabytes(value, source, "ephemeral storage", EPHEMERAL_RANGE)


def parse_cpus(value: str | float, source: str) -> float:
    """A number of vCPUs, from 0.01."""
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: cpus {value!r} is not a number; give a number of vCPUs, e.g. 0.5") from None
    if not 0.01 <= cpus <= 1024:  # nan too
        raise ConfigError(f"{source}: cpus {value!r} is out of range; give a number of vCPUs from 0.01, e.g. 0.5")
    return cpus


def of(enabled: bool, memory: int, ephemeral_storage: int, cpus: float | None = None) -> Sandbox:
    """A sandbox of these settings on this host."""
    # Imported here: settings import this module at every pytest start, and memwatch's tree is for running containers.
    from . import memwatch

    swap = memwatch.swap_note() if enabled else "no swap"
    return Sandbox(enabled, memory, ephemeral_storage, cpus, host_cpus=os.cpu_count() or 1, swap=swap)


def cause_in(text: str) -> tuple[str, str] | None:
    """The first line of `text` (a function's log, an error) that shows a sandbox limit at work, with its hint."""
    for line in text.splitlines():
        for pattern, hint in CAUSES:
            if pattern.search(line):
                return line.strip(), hint
    return None


def explain(error: FunctionError) -> FunctionError:
    """`error` with one line added when the sandbox is its likely cause (a read-only filesystem, root-only files, a
    full /tmp, memory)."""
    found = cause_in(f"{error.error_type} {error.error_message}")
    if found is not None:
        error.args = (f"{error.args[0] if error.args else ''}\n{found[1]}", *error.args[1:])
    return error
