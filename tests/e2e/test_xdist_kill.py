"""A pytest-xdist controller killed outright (SIGKILL: no teardown, no atexit) while its workers run: what it left
(the container it started ahead for a worker, its run folder in the temporary directory: container/handoff.py) is
removed by the next run. Real processes, a real engine; every wait has a deadline."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from pytest_lambda_container.container.handoff_files import FOLDER_PREFIX
from pytest_lambda_container.engine.hygiene import LABEL_PID
from pytest_lambda_container.engine.liveness import pid_alive

from .conftest import ROOT

pytestmark = pytest.mark.docker

#: Each test calls the function, says which worker and container it ran on, then waits (at most 120 s) for `release`.
WAITING_TESTS = """
import json, os, pathlib, time
import pytest

@pytest.mark.parametrize("n", range(4))
def test_waits(n, invoke, lambda_container):
    assert invoke("GET", "/test1").status_code == 200
    here = pathlib.Path(os.environ["KILL_TEST_DIR"])
    worker = os.environ["PYTEST_XDIST_WORKER"]
    (here / f"started-{worker}.json").write_text(json.dumps({"pid": os.getpid(), "container": lambda_container.id}))
    deadline = time.monotonic() + 120
    while os.environ.get("KILL_TEST_WAIT") and not (here / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
"""


def _wait(what: str, done, timeout: float, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the controller ended before {what}:\n{proc.stdout.read() if proc.stdout else ''}")
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
        time.sleep(0.1)


def test_a_killed_controllers_container_and_folder_are_removed_by_the_next_run(
    inner_pytest, tmp_path, lambda_image, docker_client
):
    """The controller starts the configured function ahead, a worker takes it (the controller's labels on it), the
    controller is killed: the container and the folder stay (nothing of the controller ran), the workers end; the
    next `-n 2` run removes both, its tests passing."""
    pytest.importorskip("xdist")
    env = {"PYTHONPATH": str(ROOT), "KILL_TEST_DIR": str(tmp_path), "KILL_TEST_WAIT": "1"}
    args = ("-n", "2", f"--lambda-image={lambda_image.id}", "-p", "no:randomly")
    proc = inner_pytest.spawn(tmp_path, WAITING_TESTS, *args, env=env)
    workers: list[int] = []
    try:
        _wait("test on each worker", lambda: len(list(tmp_path.glob("started-*.json"))) == 2, 300, proc)
        ran = [json.loads(p.read_text()) for p in tmp_path.glob("started-*.json")]
        workers = [r["pid"] for r in ran]
        folders = list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{proc.pid}-*"))
        assert len(folders) == 1
        owners = {r["container"]: docker_client.containers.get(r["container"]).labels[LABEL_PID] for r in ran}
        # The worker that took the container started ahead calls it under the controller's labels.
        ahead = [cid for cid, pid in owners.items() if pid == str(proc.pid)]
        assert len(ahead) == 1, owners
    except BaseException:
        proc.kill()
        proc.wait(timeout=60)
        (tmp_path / "release").write_text("")
        raise
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    try:
        # SIGKILL leaves debris: the container the controller started ahead, and its folder. (Looked at at once: any
        # pytest session on this engine sweeps a dead run's leftovers, another's on a shared machine too.)
        assert folders[0].is_dir()
        assert docker_client.containers.get(ahead[0]).id == ahead[0]
    finally:
        (tmp_path / "release").write_text("")
    # The workers, their controller gone, end (or are ended here: this test's own processes' children).
    try:
        _wait("end of the orphaned workers", lambda: not any(pid_alive(pid) for pid in workers), 90)
    finally:
        for pid in filter(pid_alive, workers):
            os.kill(pid, signal.SIGKILL)

    for stale in tmp_path.glob("started-*.json"):
        stale.unlink()
    again = inner_pytest.spawn(tmp_path, WAITING_TESTS, *args, env={**env, "KILL_TEST_WAIT": ""})
    try:
        out = again.communicate(timeout=300)[0]
    finally:
        again.kill()
    assert again.returncode == 0, out
    assert not folders[0].exists()
    left = [c.id for c in docker_client.containers.list(all=True, ignore_removed=True) if c.id in owners]
    assert left == [], out
