"""Telling an out-of-memory kill from other kills by the cgroup's counter, checked without Docker."""

from __future__ import annotations

from pytest_lambda_container import FunctionError
from pytest_lambda_container.container.cgroup import OomWatch, oom_kills, read_oom_kills
from pytest_lambda_container.errors import FunctionOutOfMemory

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
    oom = watch.classify(fake, FunctionError("Runtime.ExitError", KILLED), memory=512)
    assert isinstance(oom, FunctionOutOfMemory) and oom.error_type == "Runtime.OutOfMemory"
    assert "512 MB" in str(oom) and "--lambda-memory" in str(oom)
    # Killed again, the count unchanged: killed by something else.
    again = watch.classify(fake, FunctionError("Runtime.ExitError", KILLED), memory=512)
    assert type(again) is FunctionError


def test_other_errors_are_not_looked_into():
    fake = Fake("oom_kill 1\n")
    error = FunctionError("ValueError", "signal: killed")
    assert OomWatch().classify(fake, error, memory=512) is error and fake.execs == 0
