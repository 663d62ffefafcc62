"""The example suite, unchanged, where CI runs it (issue 18): from inside a container with the host's socket mounted
(bridge network, no host network), and against an engine reached over tcp; no container left behind in either."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker_contexts import make_context
from remote_engines import SOCKET, EngineProxy

from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.engine import hygiene
from pytest_lambda_container.engine.client import connect
from pytest_lambda_container.engine.hygiene import LABEL_HOST, LABEL_PID

from .conftest import ROOT, left_behind, list_ours

pytestmark = pytest.mark.docker

BASE = "python:3.11-slim"


def site_packages() -> Path:
    """This venv's packages: the tests container gets them (and this checkout's package) as a CI job would have
    them installed; nothing can be pulled or downloaded here."""
    import pytest as anything_installed

    return Path(anything_installed.__file__).resolve().parents[1]


def run_in_a_tests_container(docker_client, hostname: str, *args: str) -> str:
    """`python -m pytest ARGS` in a container of the engine with the host's socket mounted (bridge network, no host
    network), as a CI job runs it, in the checkout; its output."""
    found = rie.find_cached("x86_64") or rie.locate("x86_64")
    # The harness's mounts only: the checkout and its packages, as a CI job's workspace; the emulator where the
    # README says users put it. The plugin itself sends nothing by path to the engine.
    volumes = {
        SOCKET: {"bind": SOCKET, "mode": "rw"},
        str(ROOT): {"bind": "/repo", "mode": "ro"},
        str(site_packages()): {"bind": "/deps", "mode": "ro"},
        str(found): {"bind": "/root/.aws-lambda-rie/aws-lambda-rie", "mode": "ro"},
    }
    return docker_client.containers.run(
        BASE,
        ["python3", "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        hostname=hostname,
        network="bridge",
        working_dir="/repo",
        environment={
            "PYTHONPATH": "/repo:/deps",
            "PYTHONDONTWRITEBYTECODE": "1",
            "XDG_CACHE_HOME": "/tmp/cache",
        },
        volumes=volumes,
        remove=True,
        stdout=True,
        stderr=True,
    ).decode()


def test_the_example_suite_passes_in_a_container_with_the_hosts_socket(docker_client):
    hostname = f"plc-ci-{uuid.uuid4().hex[:8]}"
    output = run_in_a_tests_container(docker_client, hostname, "-rs", "example_app/tests")
    assert " passed" in output and "failed" not in output and "error" not in output.lower(), output
    # Reached on the tests container's network, not on a loopback that is not the container's.
    assert "function reached at its address on network bridge, port 8080 (nothing published)" in output, output
    # The memory watch, out of the host's reach, runs in the function's container: nothing says it is off.
    assert "cannot be watched" not in output, output
    assert left_behind(list_ours(docker_client, **{LABEL_HOST: hostname})) == []


def test_lambdas_memory_with_tmp_apart_holds_in_a_container_with_the_hosts_socket(docker_client):
    # The host's cgroup files are out of the tests container's reach: the watch runs in the function's container.
    hostname = f"plc-ci-{uuid.uuid4().hex[:8]}"
    output = run_in_a_tests_container(docker_client, hostname, "tests/data/ci_memory/test_memory.py")
    assert "2 passed" in output and "cannot be watched" not in output, output
    assert left_behind(list_ours(docker_client, **{LABEL_HOST: hostname})) == []


@pytest.fixture
def tcp_engine() -> Iterator[str]:
    with EngineProxy() as proxy:
        yield proxy.address


@pytest.mark.parametrize("how", ["DOCKER_HOST", "current context"])
def test_the_example_suite_passes_against_an_engine_over_tcp(how, tcp_engine, docker_client, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    if how == "DOCKER_HOST":
        env["DOCKER_HOST"] = tcp_engine
    else:  # as `docker context create ci --docker host=...` and `docker context use ci` leave it
        make_context(tmp_path, "ci-over-tcp", tcp_engine)
        (tmp_path / "config.json").write_text(json.dumps({"currentContext": "ci-over-tcp"}))
        env["DOCKER_CONFIG"] = str(tmp_path)
    suite = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "example_app/tests"]
    with subprocess.Popen(suite, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
        output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    assert f"the engine is at {tcp_engine}: its host's address, the port published on loopback only" in output, output
    assert left_behind(list_ours(docker_client, **{LABEL_PID: str(run.pid), LABEL_HOST: socket.gethostname()})) == []


def test_the_sweep_removes_what_a_killed_ci_job_container_left(docker_client):
    # The job container ran the tests on this engine, and was killed with its session: gone from the engine.
    job = docker_client.containers.create(BASE, ["true"])
    job_id = job.id
    job.remove()
    session = f"killed-job-{uuid.uuid4().hex[:8]}"  # its own: another run of this test may share the engine
    labels = {**hygiene.labels(session), LABEL_HOST: job_id[:12], hygiene.LABEL_PARENT: job_id}
    left = docker_client.containers.create(BASE, ["true"], labels=labels)
    # Another job's, still running: left alone.
    alive = docker_client.containers.run(BASE, ["sleep", "60"], detach=True)
    busy = docker_client.containers.create(
        BASE, ["true"], labels={**labels, LABEL_HOST: alive.id[:12], hygiene.LABEL_PARENT: alive.id}
    )
    engine = connect()
    try:
        removed = hygiene.reap_orphans(engine)
        remaining = [c.name for c in list_ours(docker_client, **{hygiene.LABEL_SESSION: session})]
        # Every sweep on the engine removes it: where other runs share it (xdist workers, other CI jobs), theirs may
        # have come first. Whichever did, it is gone, and the running job's container is not.
        assert busy.name not in removed and remaining == [busy.name], f"left: {left.name}, removed: {removed}"
    finally:
        engine.close()
        for c in (alive, busy):
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass  # the assertion above says whose sweep took it, if one did
