"""Where a container's memory cgroup is, and what its files say: the OOM-kill count, the peak, the anonymous memory.

The emulator reports a runtime killed for memory as any other kill (`Runtime.ExitError` "signal: killed"), and
Docker's `OOMKilled` stays false (the emulator, PID 1, survives): only the cgroup's OOM-kill counter tells them
apart. Read when a runtime was killed, never on an ordinary call. The memory watch (memwatch.py) reads the same
cgroup during each call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from ..errors import LambdaContainerError

# The one reading of memory.stat, in the watcher that runs inside containers too.
from .watcher import anon_bytes as anon_bytes

#: Where a container's memory cgroup is, as the host sees it (relative to its root; `{id}` is the container's full
#: id; `*` stands for a user's uid). cgroup v1 puts it under the memory controller's own hierarchy, v2 in the
#: unified one. The one table for every reader.
CGROUP_DIRS = (
    # Docker, cgroupfs driver (v1, v2): https://docs.docker.com/engine/containers/runmetrics/ ("Find the cgroup").
    "sys/fs/cgroup/memory/docker/{id}",
    "sys/fs/cgroup/docker/{id}",
    # Docker, systemd driver (v1, v2): the same page's `system.slice/docker-<id>.scope`.
    "sys/fs/cgroup/memory/system.slice/docker-{id}.scope",
    "sys/fs/cgroup/system.slice/docker-{id}.scope",
    # Podman, rootful, systemd manager (v1, v2): `machine.slice/libpod-<id>.scope` (podman inspect's CgroupPath).
    "sys/fs/cgroup/memory/machine.slice/libpod-{id}.scope",
    "sys/fs/cgroup/machine.slice/libpod-{id}.scope",
    # Podman, cgroupfs manager (v1, v2): its default cgroup parent is /libpod_parent (podman run --cgroup-parent).
    "sys/fs/cgroup/memory/libpod_parent/libpod-{id}",
    "sys/fs/cgroup/libpod_parent/libpod-{id}",
    # Podman, rootless (v2 only: v1 gives rootless containers no cgroup): under the user's systemd instance.
    "sys/fs/cgroup/user.slice/user-*.slice/user@*.service/user.slice/libpod-{id}.scope",
)
#: The OOM-kill count: v1's memory.oom_control, v2's memory.events (both have an `oom_kill N` line).
OOM_FILES = ("memory.oom_control", "memory.events")
#: The peak memory use: v1's memory.max_usage_in_bytes, v2's memory.peak (Linux 5.19+).
PEAK_FILES = ("memory.max_usage_in_bytes", "memory.peak")
#: As the container sees its own cgroup (cgroup namespaces: v2 always, v1 where the engine gives one).
INSIDE_DIRS = ("/sys/fs/cgroup/memory", "/sys/fs/cgroup")

#: cgroup v1's memory.oom_control and v2's memory.events both have this line (v1 since Linux 4.13).
_OOM_KILL = re.compile(r"^oom_kill (\d+)$", re.MULTILINE)


class Execs(Protocol):
    """What is read of a container: its id, and a command run in it."""

    id: str

    def exec(self, argv: tuple[str, ...], *, workdir: str, environment: dict[str, str]) -> tuple[int, str]: ...


def cgroup_dirs(container_id: str, host_root: Path = Path("/")) -> Iterator[Path]:
    """The directories on this host that may be the container's memory cgroup, in the table's order."""
    for template in CGROUP_DIRS:
        pattern = template.format(id=container_id)
        if "*" in pattern:
            yield from sorted(host_root.glob(pattern))
        else:
            yield host_root / pattern


def find_cgroup(container_id: str, host_root: Path = Path("/")) -> Path | None:
    """The container's memory cgroup directory on this host, if its memory.stat can be read from here."""
    for path in cgroup_dirs(container_id, host_root):
        if (path / "memory.stat").is_file() and os.access(path / "memory.stat", os.R_OK):
            return path
    return None


def oom_kills(text: str) -> int | None:
    """The OOM-kill count in a memory.oom_control (v1) or memory.events (v2) text, None if it has none."""
    match = _OOM_KILL.search(text)
    return int(match.group(1)) if match else None


def peak_bytes(text: str) -> int | None:
    """The number in a memory.max_usage_in_bytes (v1) or memory.peak (v2) text (the first line that is one)."""
    return next((int(line) for line in text.split() if line.isdigit()), None)


def read_oom_kills(container: Execs, host_root: Path = Path("/")) -> int | None:
    """The container's OOM-kill count: from the host's cgroup files when the engine runs here, else by `cat` in the
    container; None when neither tells."""
    return _read(container, OOM_FILES, oom_kills, host_root)


def read_peak(container: Execs, host_root: Path = Path("/")) -> int | None:
    """The container's peak memory use since it started, in bytes (files in a tmpfs count); None when unknown."""
    return _read(container, PEAK_FILES, peak_bytes, host_root)


def _read(container: Execs, files: tuple[str, ...], parse: Callable[[str], int | None], host_root: Path) -> int | None:
    for folder in cgroup_dirs(container.id, host_root):
        for name in files:
            try:
                value = parse((folder / name).read_text())
            except OSError:
                continue
            if value is not None:
                return value
    inside = tuple(f"{folder}/{name}" for folder, name in zip(INSIDE_DIRS, files))
    try:
        _, output = container.exec(("cat", *inside), workdir="/", environment={})
    except LambdaContainerError:
        return None
    return parse(output)
