"""Podman's Docker API as the engine, and the engine going away mid-session (fault injection, for real)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import ClassVar

import docker
import pytest

from pytest_lambda_container.engine.hygiene import LABEL, LABEL_PID

# One worker under xdist: the module's Podman service is one per process, and its tests stop and restart it.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("podman")]

IMAGES = Path(__file__).resolve().parents[1] / "images"

ENGINE_GOES_AWAY = """
import pathlib, time

def test_engine_goes_away(invoke):
    assert invoke("GET", "/test1").status_code == 200
    pathlib.Path("started").write_text("yes")
    while not pathlib.Path("engine-stopped").exists():
        time.sleep(0.1)
    invoke("GET", "/test1")
"""


@pytest.fixture(scope="module")
def podman(tmp_path_factory, lambda_image, docker_client):
    """A Podman API service on its own socket, holding a copy of the example image."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: scripts/bootstrap.sh podman (or apt-get install podman)")
    folder = tmp_path_factory.mktemp("podman")
    socket = folder / "podman.sock"

    def start() -> subprocess.Popen[bytes]:
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not socket.exists():
            assert time.monotonic() < deadline, "podman service did not come up"
            time.sleep(0.1)
        return service

    state = {"service": start()}

    def load_image(image_id: str) -> None:
        # The images move across as Docker would ship them: `docker save | podman load`.
        loading = subprocess.Popen(
            ["podman", "load"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert loading.stdin is not None
        for chunk in docker_client.images.get(image_id).save():
            loading.stdin.write(chunk)
        loading.stdin.close()
        assert loading.wait(timeout=120) == 0, loading.stdout.read() if loading.stdout else ""

    load_image(lambda_image.id)

    class Podman:
        host = f"unix://{socket}"
        #: The pids of the pytest runs that used it: this process's (pytester's in-process runs) and spawned ones.
        runs: ClassVar[set[str]] = {str(os.getpid())}
        load = staticmethod(load_image)

        def stop(self) -> None:
            state["service"].send_signal(signal.SIGTERM)
            state["service"].wait(timeout=30)
            socket.unlink(missing_ok=True)

        def restart(self) -> None:
            state["service"] = start()

    yield Podman()
    # Podman's containers are one store for every process of this user: another run's are not this module's, and
    # are listed by this module's pids only (one another run removes meanwhile is no "404" on Podman but a 500 that
    # the SDK's ignore_removed does not skip).
    client = docker.DockerClient(base_url=Podman.host)
    for pid in Podman.runs:
        for container in client.containers.list(
            all=True, ignore_removed=True, filters={"label": [LABEL, f"{LABEL_PID}={pid}"]}
        ):
            container.remove(force=True)
    client.close()
    Podman().stop()


def test_podman_serves_the_plugin(pytester, podman, lambda_image, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", podman.host)
    pytester.makepyfile(
        """
        def test_on_podman(invoke, lambda_container):
            assert lambda_container.engine.is_podman
            assert invoke("POST", "/test3", {"message": "podman"}).json() == {"message": "podman"}
        """
    )
    result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", "0")
    result.assert_outcomes(passed=1)
    client = docker.DockerClient(base_url=podman.host)
    assert client.containers.list(all=True, ignore_removed=True, filters={"label": f"{LABEL_PID}={os.getpid()}"}) == []
    client.close()


def test_on_podman_a_run_exits_once_its_removal_is_over(inner_pytest, tmp_path: Path, podman, lambda_image):
    """Podman's compat API serves a removal under the request's context, which a client that leaves may cancel: a
    run's exit there waits for its removals' end (engine/removals.py), so nothing of it is left the moment it exits."""
    body = "def test_on_podman(invoke):\n    assert invoke('GET', '/test1').status_code == 200\n"
    proc = inner_pytest.spawn(tmp_path, body, f"--lambda-image={lambda_image.id}", env={"DOCKER_HOST": podman.host})
    podman.runs.add(str(proc.pid))
    try:
        out = proc.communicate(timeout=120)[0]
    finally:
        proc.kill()
    assert proc.returncode == 0 and "1 passed" in out, out
    client = docker.DockerClient(base_url=podman.host)
    try:
        assert client.containers.list(all=True, ignore_removed=True, filters={"label": f"{LABEL_PID}={proc.pid}"}) == []
    finally:
        client.close()


def test_engine_stopped_mid_session_fails_fast_and_clearly(inner_pytest, tmp_path: Path, podman, lambda_image):
    proc = inner_pytest.spawn(
        tmp_path, ENGINE_GOES_AWAY, f"--lambda-image={lambda_image.id}", env={"DOCKER_HOST": podman.host}
    )
    try:
        inner_pytest.wait_for(tmp_path / "started", proc)
        # The engine stops, and takes its containers with it (as dockerd does without live-restore).
        podman.stop()
        podman.runs.add(str(proc.pid))
        # Its own containers only: Podman's store is shared by every run of this user on the machine.
        ours = subprocess.run(
            ["podman", "ps", "-q", "--filter", f"label={LABEL_PID}={proc.pid}"], capture_output=True, text=True
        ).stdout.split()
        subprocess.run(["podman", "kill", *ours], capture_output=True, timeout=60)
        stopped = time.monotonic()
        (tmp_path / "engine-stopped").write_text("yes")
        out = proc.communicate(timeout=60)[0]
        assert time.monotonic() - stopped < 30, "no hang"
    finally:
        proc.kill()
        podman.restart()
    assert "1 failed" in out
    assert f"the Docker engine at {podman.host} stopped answering" in out
    assert "could not remove container plc-" in out and "docker rm -f plc-" in out
    assert "Traceback" not in out.split("short test summary")[0].split("_ test_engine_goes_away _")[0]


@pytest.fixture(scope="module")
def probe(podman, docker_client, lambda_image):
    """The sandbox probe image (tests/images/Dockerfile.custom-sandbox), built once and moved into Podman."""
    image, _ = docker_client.images.build(
        path=str(IMAGES),
        dockerfile="Dockerfile.custom-sandbox",
        buildargs={"BASE": lambda_image.id},
        network_mode="host",
    )
    podman.load(image.id)
    return image


def test_lambdas_open_file_and_thread_limits_hold_on_podman(pytester, podman, probe, monkeypatch):
    """Lambda's 1,024 open files and 1,024 processes/threads
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) on Podman too: its own nofile default
    (16,384 here) gives way to Lambda's, and the threads stop at the container's pids limit."""
    monkeypatch.setenv("DOCKER_HOST", podman.host)
    pytester.makepyfile(
        """
        from pytest_lambda_container.container import sandbox

        def test_limits(lambda_container):
            assert lambda_container.engine.is_podman
            limits = lambda_container.invoke_event({"action": "limits"})
            assert limits["nofile"] == [1024, 1024] and 1000 <= limits["files"] < 1024
            assert 1000 <= limits["threads"] <= 1024 + sandbox.EMULATOR_TASKS
            assert lambda_container.container.attrs["HostConfig"]["PidsLimit"] == 1024 + sandbox.EMULATOR_TASKS
        """
    )
    result = pytester.runpytest("--lambda-image", probe.id, "--lambda-port", "0", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_the_watch_inside_the_container_holds_lambdas_memory_on_podman(pytester, podman, probe, monkeypatch):
    """The memory watch inside the function's container (where the host's cgroup is out of reach; forced here) on
    Podman: past --lambda-memory is Runtime.OutOfMemory, again after the emulator's reset, and /tmp does not count."""
    monkeypatch.setenv("DOCKER_HOST", podman.host)
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_MEMWATCH", "inside")
    pytester.makepyfile(
        """
        import pytest
        from pytest_lambda_container.errors import FunctionOutOfMemory

        def test_memory(lambda_container):
            assert lambda_container.engine.is_podman and lambda_container.plan.memwatch is not None
            for _ in range(2):
                with pytest.raises(FunctionOutOfMemory) as info:
                    lambda_container.invoke_event({"action": "alloc", "mb": 700})
                assert "went past its 512 MB (stopped at 5" in str(info.value)
                assert lambda_container.invoke_event({"action": "alloc", "mb": 100}) == {"allocated": 100}
            event = {"action": "tmp_and_heap", "tmp": 450, "heap": 450}
            assert lambda_container.invoke_event(event) == {"tmp": 450, "heap": 450}
        """
    )
    result = pytester.runpytest("--lambda-image", probe.id, "--lambda-port", "0", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert "cannot be watched" not in result.stdout.str()
