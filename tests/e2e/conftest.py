"""Real engines, real processes: fixtures of the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import pytest

from pytest_lambda_container.engine.hygiene import LABEL, LABEL_PID

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "images"


#: The plugins that no test of an inner run uses, and that cost each pytest process ~0.35 s of CPU at its start
#: (hypothesis imports itself whole for its terminal summary; anyio, its plugin): ~100 such processes in this suite.
UNUSED_PLUGINS = "-p no:hypothesispytest -p no:anyio"


@pytest.fixture(scope="session", autouse=True)
def _inner_runs_load_only_the_plugins_they_use():
    """For the runs these tests start themselves (subprocess, env of their own), through PYTEST_ADDOPTS, which every
    run reads; undone at the session's end."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_ADDOPTS", f"{os.environ.get('PYTEST_ADDOPTS', '')} {UNUSED_PLUGINS}".strip())
        yield


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's own, whose runs load no plugin their tests do not use (pytester drops PYTEST_ADDOPTS when made)."""
    monkeypatch.setenv("PYTEST_ADDOPTS", UNUSED_PLUGINS)
    return pytester


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    yield client
    client.close()


def list_ours(client, **labels: str) -> list:
    """Containers labelled as ours (optionally with more label values), stopped ones included."""
    filters = [LABEL] + [f"{k}={v}" for k, v in labels.items()]
    return client.containers.list(all=True, ignore_removed=True, filters={"label": filters})


#: How long a container may take to go once the run that removes it has exited: that run's exit waits only until
#: Docker has the removal in hand (issue 17, engine/removals.py), and Docker ends it in well under a second.
REMOVAL_WAIT = 10.0


def left_behind(containers: list) -> list:
    """Of `containers` (ours, as just listed), those left behind: each one gone, or being removed ("removing"),
    within `REMOVAL_WAIT` is not; one still running, or exited and not being removed, then is. (Right after a run
    exits, its container may still be under way: Docker lists it as running until the kill's exit is handled.)"""
    deadline = time.monotonic() + REMOVAL_WAIT
    left = list(containers)
    while True:
        left = [c for c in left if _still_there(c)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def _still_there(container) -> bool:
    try:
        container.reload()
    except docker.errors.NotFound:
        return False
    return container.status != "removing"


@pytest.fixture
def containers_of_pid(docker_client):
    """Our containers started by the pytest process `pid`."""
    return lambda pid: list_ours(docker_client, **{LABEL_PID: str(pid)})


@pytest.fixture
def foreign_containers(docker_client, monkeypatch):
    """Our containers that this test's own pytest runs left: pytester's, in this process or in processes of their
    own (`runpytest_subprocess`, its xdist workers).

    Each run this test starts carries a mark of the test's own in its function's environment (`--lambda-env`,
    through PYTEST_ADDOPTS, which in-process and subprocess runs read alike): the containers of other runs on the
    same engine at the same time (other tests' under xdist, a killed session's awaiting the sweep, another
    checkout's suite, another CI job) are not this test's, whatever their pid."""
    mark = f"PLC_E2E_RUN={uuid.uuid4().hex}"
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{os.environ.get('PYTEST_ADDOPTS', '')} --lambda-env={mark}".strip())
    return lambda: [c for c in list_ours(docker_client) if mark in ((c.attrs.get("Config") or {}).get("Env") or [])]


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
