"""Finding a container's cgroup (Docker's and Podman's, v1 and v2) and telling an out-of-memory kill from other kills
by its counter, checked without Docker on fake cgroup trees."""

from __future__ import annotations

import pytest

from pytest_lambda_container import FunctionError
from pytest_lambda_container.container.cgroup import find_cgroup, oom_kills, read_oom_kills, read_peak
from pytest_lambda_container.container.memwatch import OomWatch

KILLED = "RequestId: r1 Error: Runtime exited with error: signal: killed"


class Fake:
    """A container whose `cat` prints `text` (a stand-in for the exec: the host's cgroup files are not there)."""

    def __init__(self, text: str, container_id: str = "abc") -> None:
        self.id = container_id
        self.text = text
        self.execs = 0

    def exec(self, argv, *, workdir, environment):
        self.execs += 1
        return 0, self.text


def test_the_count_of_v1_and_v2():
    assert oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2
    assert oom_kills("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n") == 1
    assert oom_kills("oom_kill_disable 0\nunder_oom 0\n") is None  # a kernel before 4.13


def test_the_hosts_cgroup_file_first_then_the_containers(tmp_path):
    folder = tmp_path / "sys/fs/cgroup/memory/docker/abc"
    folder.mkdir(parents=True)
    (folder / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    fake = Fake("oom_kill 9\n")
    assert read_oom_kills(fake, host_root=tmp_path) == 3 and fake.execs == 0
    assert read_oom_kills(Fake("oom_kill 9\n", "other"), host_root=tmp_path) == 9


def test_a_kill_that_raised_the_count_is_out_of_memory_once(tmp_path):
    watch = OomWatch()
    fake = Fake("oom_kill 1\n")
    assert watch.killed_for_memory(fake, FunctionError("Runtime.ExitError", KILLED))
    # Killed again, the count unchanged: killed by something else.
    assert not watch.killed_for_memory(fake, FunctionError("Runtime.ExitError", KILLED))


def test_other_errors_are_not_looked_into():
    fake = Fake("oom_kill 1\n")
    assert not OomWatch().killed_for_memory(fake, FunctionError("ValueError", "signal: killed"))
    assert fake.execs == 0


#: Where each engine puts a container's memory cgroup, written out here rather than read from the table, so that a
#: path missing from the table fails. Docker: https://docs.docker.com/engine/containers/runmetrics/; Podman: its
#: cgroup parent (podman run --cgroup-parent), /libpod_parent under cgroupfs, machine.slice or the user's slice
#: under systemd.
LAYOUTS = {
    "docker v1 cgroupfs": ("sys/fs/cgroup/memory/docker/abc", "v1"),
    "docker v1 systemd": ("sys/fs/cgroup/memory/system.slice/docker-abc.scope", "v1"),
    "docker v2 cgroupfs": ("sys/fs/cgroup/docker/abc", "v2"),
    "docker v2 systemd": ("sys/fs/cgroup/system.slice/docker-abc.scope", "v2"),
    "podman v1 cgroupfs": ("sys/fs/cgroup/memory/libpod_parent/libpod-abc", "v1"),
    "podman v1 systemd": ("sys/fs/cgroup/memory/machine.slice/libpod-abc.scope", "v1"),
    "podman v2 cgroupfs": ("sys/fs/cgroup/libpod_parent/libpod-abc", "v2"),
    "podman v2 systemd": ("sys/fs/cgroup/machine.slice/libpod-abc.scope", "v2"),
    "podman v2 rootless": (
        "sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-abc.scope",
        "v2",
    ),
}


def _tree(root, folder: str, version: str):
    path = root / folder
    path.mkdir(parents=True)
    if version == "v1":
        (path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n")
        (path / "memory.max_usage_in_bytes").write_text("123456\n")
    else:
        (path / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 4\n")
        (path / "memory.peak").write_text("123456\n")
    (path / "memory.stat").write_text("anon 1\n")
    return path


@pytest.mark.parametrize(("folder", "version"), LAYOUTS.values(), ids=list(LAYOUTS))
def test_each_engines_cgroup_is_found_on_the_host(tmp_path, folder, version):
    made = _tree(tmp_path, folder, version)
    fake = Fake("oom_kill 9\n")  # the container's own view: never asked when the host's files are there
    assert find_cgroup("abc", tmp_path) == made
    assert read_oom_kills(fake, host_root=tmp_path) == 4
    assert read_peak(fake, host_root=tmp_path) == 123456
    assert fake.execs == 0


def test_another_containers_cgroup_is_not_taken(tmp_path):
    _tree(tmp_path, LAYOUTS["podman v2 systemd"][0], "v2")
    assert find_cgroup("abcd", tmp_path) is None
    assert read_peak(Fake("777\n", "abcd"), host_root=tmp_path) == 777  # asked inside instead
