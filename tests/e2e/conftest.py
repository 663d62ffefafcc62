"""Real engines, real processes: fixtures of the end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from pytest_lambda_container.engine.hygiene import LABEL, LABEL_HOST, LABEL_PID, LABEL_SESSION

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "images"


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    yield client
    client.close()


def list_ours(client, **labels: str) -> list:
    """Containers labelled as ours (optionally with more label values), stopped ones included."""
    filters = [LABEL] + [f"{k}={v}" for k, v in labels.items()]
    return client.containers.list(all=True, ignore_removed=True, filters={"label": filters})


@pytest.fixture
def containers_of_pid(docker_client):
    """Our containers started by the pytest process `pid`."""
    return lambda pid: list_ours(docker_client, **{LABEL_PID: str(pid)})


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture
def foreign_containers(docker_client, lambda_session):
    """Our containers that this test's own runs left: those of pytester runs, in this process or in processes of
    their own (`runpytest_subprocess`, xdist workers), that ended.

    Other runs on the same engine (another checkout's suite, at the same time) are not counted: a container that
    was there before the test, or whose pytest process is another live one, is not this test's."""
    before = {c.id for c in list_ours(docker_client)}
    me = str(os.getpid())

    def this_tests(container) -> bool:
        labels = container.labels
        if container.id in before or labels.get(LABEL_SESSION) == lambda_session.id:
            return False
        if labels.get(LABEL_HOST) != socket.gethostname():
            return False
        pid = labels.get(LABEL_PID, "")
        # In this process: a pytester run's. In another, ended: a subprocess run's, whose processes are gone.
        return pid == me or not _alive(pid)

    return lambda: [c for c in list_ours(docker_client) if this_tests(c)]


def _spawn_pytest(folder: Path, body: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A pytest session in its own process (so its signals and its exit are real) running `body` as its test."""
    (folder / "test_inner.py").write_text(body)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--lambda-port=0", *args, "test_inner.py"],
        cwd=folder,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(marker: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait until the inner session's test writes `marker`; fail with its output if it ends first."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "the inner session never started its test"
        time.sleep(0.1)


class InnerPytest:
    """Run pytest sessions in their own processes: `spawn(folder, body, *args, env=...)`, `wait_for(marker, proc)`."""

    spawn = staticmethod(_spawn_pytest)
    wait_for = staticmethod(_wait_for)


@pytest.fixture
def inner_pytest() -> InnerPytest:
    return InnerPytest()


def run_example_suite(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pytest on example_app/tests from the repository's root (its pyproject configures the plugin), in a process of
    its own."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-rs",
            *args,
            "example_app/tests",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module", params=["custom", "aws"])
def coldstart(request, lambda_container_factory, lambda_image):
    """`start(**fields)`: the cold-start probe on a custom image (FROM the example app's) or an AWS base image."""

    def start(**fields):
        if request.param == "custom":
            fields["build_args"] = {"BASE": lambda_image.id}
        return lambda_container_factory(dockerfile=IMAGES / f"Dockerfile.{request.param}-coldstart", **fields)

    return start
