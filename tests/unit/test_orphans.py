"""Which of our containers a sweep removes (engine/hygiene.py's is_orphan): each rule one the engine or this machine
can check, wherever the run that started them ran."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from pytest_lambda_container.engine import hygiene, liveness
from pytest_lambda_container.engine.hygiene import ORPHAN_AGE, is_orphan

HERE = "ci-host"


def judge(labels: dict[str, str], *, age: float = 60.0, alive=(), running=()) -> bool:
    return is_orphan(
        labels,
        host=HERE,
        age=age,
        pid_alive=lambda pid: pid in alive,
        parent_running=lambda parent: parent in running,
    )


def ours(**more: str) -> dict[str, str]:
    found = {**hygiene.labels("s1"), hygiene.LABEL_HOST: HERE, hygiene.LABEL_PID: "4242"}
    found.update(more)
    return found


def test_on_this_host_a_run_is_gone_when_its_process_is():
    assert judge(ours()) is True
    assert judge(ours(), alive={4242}) is False
    assert judge(ours(**{hygiene.LABEL_PID: str(os.getpid())})) is False  # this very run


def test_a_run_in_a_container_of_the_engine_is_gone_when_that_container_is():
    # A CI job container, killed: its host name and pids mean nothing here, but the engine knows it is gone.
    job = ours(**{hygiene.LABEL_HOST: "3f2a9c0d1b7e", hygiene.LABEL_PARENT: "3f2a9c0d1b7e" + "0" * 52})
    assert judge(job) is True
    assert judge(job, running={job[hygiene.LABEL_PARENT]}) is False


def test_a_remote_machines_run_counts_as_gone_only_when_old():
    remote = ours(**{hygiene.LABEL_HOST: "laptop"})
    assert judge(remote, age=ORPHAN_AGE - 60) is False
    assert judge(remote, age=ORPHAN_AGE + 60) is True


@pytest.mark.parametrize("label", [hygiene.LABEL_KEEP, hygiene.LABEL_REUSE])
def test_kept_and_reused_containers_are_never_orphans(label: str):
    assert judge(ours(**{label: "1"})) is False
    assert judge(ours(**{label: "1", hygiene.LABEL_HOST: "laptop"}), age=ORPHAN_AGE * 2) is False


def test_the_labels_name_the_tests_container_when_there_is_one():
    assert hygiene.LABEL_PARENT not in hygiene.labels("s1")
    assert hygiene.labels("s1", parent="abc")[hygiene.LABEL_PARENT] == "abc"


def test_a_process_that_ended_unreaped_is_gone():
    """A zombie (ended, its parent not yet waiting for it) counts as gone: where no init reaps orphans, every process
    of a killed run stays one, and its containers would never be swept."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert liveness.pid_alive(child.pid)
        child.stdin.close()
        deadline = time.monotonic() + 60
        while not liveness.zombie(child.pid):  # ended; not reaped, as this process does not wait for it yet
            assert time.monotonic() < deadline, "the child never ended"
            time.sleep(0.05)
        assert not liveness.pid_alive(child.pid)
    finally:
        child.kill()
        child.wait(timeout=60)
    assert not liveness.pid_alive(child.pid)


def test_a_container_lists_creation_time_counts_as_the_inspections_does():
    # The sweep reads the engine's list (whole seconds since the epoch), not each container's inspection (RFC 3339).
    now = datetime(2026, 12, 8, 0, 0, 10, tzinfo=timezone.utc)
    listed = int(datetime(2026, 12, 8, tzinfo=timezone.utc).timestamp())
    assert liveness.age(listed, now=now) == liveness.age("2026-12-08T00:00:00.000000000Z", now=now) == 10.0
