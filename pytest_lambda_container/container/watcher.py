"""Delivered into the function's container and run there (container/watch_inside.py), on the image's Python as the
sandbox's user: the memory watch where the host's cgroup files and processes are out of reach. Standard library
only, and syntax that Python 3.8 reads.

`watch LIMIT STATE`: checks that it can read the container's memory cgroup and write STATE (a small tmpfs of its
own), says so on its output, then goes on in the background (its own session, its output closed, so that the
engine's exec returns at once) and lives as long as the container. It reads the cgroup's usage (one number) every
10 to 100 ms, the sooner the nearer the limit (`pause`); only past LIMIT does it read memory.stat, whose anonymous
memory, less its own, is the function's (/tmp's pages are `shmem`, the page cache is reclaimable: neither counts,
as on Lambda). Past LIMIT, it writes its record (`RECORD`: how many kills so far, the figure it stopped at) and
kills every process it may signal but the emulator (PID 1) and itself, as Lambda ends a runtime out of memory; it
does not kill again before the memory is back under the limit. Started by the engine's exec, in a session of its
own, it is none of the runtime's processes the emulator ends at a reset. A second start (a container an earlier run
left) finds it running.

`kill STATE`: kills the runtime's processes but the emulator, the watcher and itself (the plugin's deadline, when it
ends a call at the function's timeout). `read STATE`: prints the record. What it costs the function: watch_inside.py.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Callable

#: How often the cgroup's usage is read near the limit: as often as the host's watch samples (container/memwatch.py).
INTERVAL = 0.01
#: How often far below it, at most: each wake-up costs the function CPU (its container's quota pays for it).
MAX_INTERVAL = 0.1
#: The fastest a function fills memory, bytes a second: page faults ran at 0.2-0.3 GB/s under 0.29 vCPU here and
#: 0.66 GB/s on a whole core; ten times more leaves room for faster hosts and many threads. Below the limit by
#: `headroom`, the next read comes before the function can have filled it at that rate.
FILL_RATE = 10 * 2**30
#: The container's memory cgroup as it sees itself (cgroup namespaces: v2 always, v1 where the engine mounts its own
#: cgroup there): (folder, usage file) for v2, then v1.
CGROUPS = (("/sys/fs/cgroup", "memory.current"), ("/sys/fs/cgroup/memory", "memory.usage_in_bytes"))
#: Anonymous memory in memory.stat: v1's hierarchical total, v1's own, v2's.
ANON_KEYS = ("total_rss", "rss", "anon")
#: In STATE: "KILLS STOPPED" (the kills so far, the anonymous memory in bytes at the last one), and the watcher's pid.
RECORD = "record"
PID = "pid"


def anon_bytes(stat: str) -> int | None:
    """The anonymous memory in a memory.stat text (v1 or v2), in bytes; None if it has none."""
    values = dict(line.split(" ", 1) for line in stat.splitlines() if " " in line)
    for key in ANON_KEYS:
        if key in values and values[key].strip().isdigit():
            return int(values[key])
    return None


def parse_record(text: str) -> tuple[int, int] | None:
    """(kills, stopped at) of a record's text; None if it is not one."""
    parts = text.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def own_anon() -> int:
    """This process's anonymous memory, in bytes (its RssAnon): the container's cgroup counts it too."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def find_cgroup(root: str = "/") -> tuple[str, str] | None:
    """(memory.stat, usage file) of the container's own memory cgroup, if they can be read."""
    for folder, usage in CGROUPS:
        folder = os.path.join(root, folder.lstrip("/"))
        stat, current = os.path.join(folder, "memory.stat"), os.path.join(folder, usage)
        if os.access(stat, os.R_OK) and os.access(current, os.R_OK):
            return stat, current
    return None


def pause(headroom: int) -> float:
    """How long to sleep before the next read, `headroom` bytes below the limit: no longer than the fastest function
    takes to fill it, between `INTERVAL` and `MAX_INTERVAL`."""
    return min(MAX_INTERVAL, max(INTERVAL, headroom / FILL_RATE))


def write_record(state: str, kills: int, stopped: int) -> None:
    """The record, whole or not at all (the plugin may read it at any time)."""
    path = os.path.join(state, RECORD)
    with open(path + ".new", "w") as out:
        out.write(f"{kills} {stopped}\n")
    os.replace(path + ".new", path)


def kill_all_but(spared: set[int]) -> int:
    """SIGKILL every process of the container this one may signal, but PID 1 and `spared`; how many were."""
    killed = 0
    for _ in range(3):  # again, for children forked while the first pass ran
        found = 0
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) in spared or name == "1":
                continue
            try:
                os.kill(int(name), signal.SIGKILL)
                found += 1
            except OSError:  # gone already, or not ours to signal
                pass
        killed += found
        if not found:
            break
    return killed


class Judge:
    """What each sample decides, apart from files and signals: kill now or not, and when to look again."""

    def __init__(self, limit: int, own: int) -> None:
        self.limit = limit
        #: The watcher's own anonymous memory, which the cgroup counts too.
        self.own = own
        self.kills = 0
        #: The function's anonymous memory at the last kill, in bytes.
        self.stopped = 0
        #: False from a kill until the memory is back under the limit: the dying runtime is not killed twice.
        self.armed = True

    def sample(self, usage: int, read_anon: Callable[[], int | None]) -> tuple[bool, float]:
        """(kill now, seconds to the next sample), given the cgroup's usage and how to read its anonymous memory.

        The usage is every page the cgroup holds: below the limit, the anonymous memory is too, and memory.stat (a
        longer read, the most of the watch's cost) is left alone."""
        headroom = self.limit - (usage - self.own)
        if headroom < 0:
            headroom = self.limit - ((read_anon() or 0) - self.own)
        if headroom >= 0:
            self.armed = True
            return False, pause(headroom)
        if not self.armed:
            return False, INTERVAL
        self.kills, self.stopped, self.armed = self.kills + 1, self.limit - headroom, False
        return True, INTERVAL


def read_anon(stat_path: str) -> int | None:
    """The anonymous memory of the cgroup whose memory.stat is at `stat_path`."""
    with open(stat_path) as stat:
        return anon_bytes(stat.read())


def watch(limit: int, stat_path: str, usage_path: str, state: str) -> None:
    """Sample until the container goes; kill the runtime whenever the function's anonymous memory passes `limit`."""
    usage = os.open(usage_path, os.O_RDONLY)
    judge = Judge(limit, own_anon())

    def anon() -> int | None:
        return read_anon(stat_path)

    while True:
        kill, wait = judge.sample(int(os.pread(usage, 32, 0)), anon)
        if kill:
            write_record(state, judge.kills, judge.stopped)
            try:  # kill(-1): every process the caller may signal but PID 1 and itself, in one system call
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            judge.own = own_anon()
        time.sleep(wait)


def running(state: str) -> int | None:
    """The pid of a watcher already running for `state` (a container an earlier run started and left), if any."""
    try:
        with open(os.path.join(state, PID)) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if any(a.endswith(b"watcher.py") for a in argv) and b"watch" in argv else None


def kills_so_far(state: str) -> int:
    try:
        with open(os.path.join(state, RECORD)) as f:
            return (parse_record(f.read()) or (0, 0))[0]
    except OSError:
        return 0


def start(limit: int, state: str) -> int:
    """Check, say, and go on in the background; the exit status says whether the watch runs."""
    found = find_cgroup()
    if found is None:
        print(f"no memory cgroup to read in {' or '.join(c[0] for c in CGROUPS)}")
        return 2
    already = running(state)
    if already is not None:
        print(f"watching {found[0]} as pid {already}, {kills_so_far(state)} kills so far")
        return 0
    try:
        write_record(state, 0, 0)
    except OSError as exc:
        print(f"cannot write {state}: {exc}")
        return 2
    child = os.fork()
    if child:
        with open(os.path.join(state, PID), "w") as out:
            out.write(f"{child}\n")
        print(f"watching {found[0]} as pid {child}, 0 kills so far")
        return 0
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        watch(limit, found[0], found[1], state)
    finally:
        os._exit(0)


def kill(state: str) -> int:
    """Kill the runtime's processes, sparing the watcher; 1 if there were none."""
    spared = {os.getpid()}
    pid = running(state)
    if pid is not None:
        spared.add(pid)
    return 0 if kill_all_but(spared) else 1


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "watch":
        return start(int(argv[2]), argv[3])
    if len(argv) == 3 and argv[1] == "kill":
        return kill(argv[2])
    if len(argv) == 3 and argv[1] == "read":
        with open(os.path.join(argv[2], RECORD)) as f:
            print(f.read().strip())
        return 0
    print("usage: watcher.py watch LIMIT_BYTES STATE_DIR | kill STATE_DIR | read STATE_DIR")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
