"""Scale: `--lambda-concurrency N` (N containers, each call on an idle one, as on-demand Lambda scales:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html) and `--lambda-reuse` (a warm container for the
next run). Asserted on what happened (which container served which request id, what was started), never on time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_lambda_container.container import reuse
from pytest_lambda_container.engine.hygiene import (
    LABEL_PID,
    LABEL_REUSE,
    LABEL_REUSE_CONFIG,
    LABEL_REUSE_PROJECT,
    LABEL_SESSION,
)

from .conftest import ROOT, left_behind, list_ours

pytestmark = pytest.mark.docker

EIGHT_AT_ONCE = """
import asyncio
import threading

import httpx

from pytest_lambda_container import AsyncLambdaTransport

SLEEP = {"seconds": "0.4"}


def served_by(session, request_ids):
    '''Which container's log holds each request id: exactly one each, or the assertion says which not.'''
    logs = {c.name: c.logs() for c in session.containers}
    where = {rid: [name for name, log in logs.items() if f"START RequestId: {rid}" in log] for rid in request_ids}
    assert all(len(names) == 1 for names in where.values()), where
    return {rid: names[0] for rid, names in where.items()}


def eight_threads(call):
    barrier = threading.Barrier(8)
    out = [None] * 8

    def run(i):
        barrier.wait()
        out[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_invoke_from_eight_threads(invoke, lambda_session):
    responses = eight_threads(lambda: invoke("GET", "/sleep", SLEEP))
    assert [r.json() for r in responses] == [{"slept": 0.4}] * 8
    ids = [r.extensions["lambda_report"].request_id for r in responses]
    assert len(set(ids)) == 8
    served = served_by(lambda_session, ids)
    assert 2 <= len(set(served.values())) <= 4 and len(lambda_session.containers) <= 4
    # The classic emulator panics on a second concurrent call: none did.
    assert all(c.restarts == 0 and c.exit_code() is None for c in lambda_session.containers)


def test_raw_events_from_eight_threads(lambda_container, lambda_session):
    from pytest_lambda_container.fronts.events import EventOptions, HttpRequest, get_format

    event = get_format("rest").build(HttpRequest("GET", "/sleep", raw_query="seconds=0.4"), EventOptions())

    def call():
        result = lambda_container.invoke_event(event)
        return result, lambda_container.last_report.request_id

    out = eight_threads(call)
    assert all(result["statusCode"] == 200 for result, _ in out)
    served_by(lambda_session, [rid for _, rid in out])
    assert len(lambda_session.containers) <= 4


def test_asyncio_gather(lambda_container, lambda_session):
    async def main():
        transport = AsyncLambdaTransport(lambda_container)
        async with httpx.AsyncClient(base_url="http://lambda", transport=transport) as client:
            return await asyncio.gather(*(client.get("/sleep", params=SLEEP) for _ in range(8)))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 8
    served_by(lambda_session, [r.extensions["lambda_report"].request_id for r in responses])
    assert len(lambda_session.containers) <= 4
"""


def test_concurrency_four_serves_eight_calls_on_at_most_four_containers(pytester, lambda_image, docker_client):
    pytester.makepyfile(EIGHT_AT_ONCE)
    result = pytester.runpytest(
        f"--lambda-image={lambda_image.id}", "--lambda-port=0", "--lambda-concurrency=4", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*concurrency 4*"])


REUSED = """
import json, os

def test_call(invoke, lambda_container, lambda_session):
    report = invoke("GET", "/test1").extensions["lambda_report"]
    with open(os.environ["REUSE_OUT"], "a") as out:
        out.write(json.dumps({
            "session": lambda_session.id,
            "id": lambda_container.id,
            "init_ms": report.init_duration_ms,
        }) + "\\n")
"""


def _runs(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_second_reuse_run_starts_no_container_and_its_first_call_is_warm(
    pytester, lambda_image, docker_client, monkeypatch
):
    out = pytester.path / "runs.jsonl"
    monkeypatch.setenv("REUSE_OUT", str(out))
    pytester.makepyfile(REUSED)
    args = (f"--lambda-image={lambda_image.id}", "--lambda-port=0", "--lambda-reuse", "-p", "no:randomly")
    project = ["--project", str(pytester.path)]
    try:
        pytester.runpytest(*args).assert_outcomes(passed=1)
        first = _runs(out)[-1]
        assert first["init_ms"] is not None  # a fresh container: its first call inits the runtime
        # Left running, labelled with its slot and settings, for the next run.
        kept = docker_client.containers.get(first["id"])
        assert kept.status == "running" and kept.labels[LABEL_REUSE] and kept.labels[LABEL_REUSE_CONFIG]

        pytester.runpytest(*args).assert_outcomes(passed=1)
        second = _runs(out)[-1]
        assert second["id"] == first["id"] and second["init_ms"] is None  # the same container, warm
        # No container of the second run's own exists, or existed long enough to be listed: it started none.
        assert list_ours(docker_client, **{LABEL_SESSION: second["session"]}) == []

        # Another setting (an environment variable): another config, the old container replaced.
        pytester.runpytest(*args, "--lambda-env=REUSE_TEST=1").assert_outcomes(passed=1)
        third = _runs(out)[-1]
        assert third["id"] != first["id"] and third["init_ms"] is not None
        assert [c.id for c in list_ours(docker_client, **{LABEL_REUSE_PROJECT: str(pytester.path)})] == [third["id"]]

        # While another run holds the slot, this one starts its own container and removes it at its end.
        slot = docker_client.containers.get(third["id"]).labels[LABEL_REUSE]
        held = reuse.claim(slot)
        assert held is not None
        try:
            result = pytester.runpytest(*args, "--lambda-env=REUSE_TEST=1")
        finally:
            held.release()
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*serves another run now: this run starts its own*"])
        fourth = _runs(out)[-1]
        assert fourth["id"] != third["id"] and list_ours(docker_client, **{LABEL_SESSION: fourth["session"]}) == []
    finally:
        cleaned = subprocess.run(
            [sys.executable, "-m", "pytest_lambda_container", "clean", *project],
            cwd=ROOT,  # this checkout's package
            capture_output=True,
            text=True,
        )
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed reused container" in cleaned.stdout
    assert list_ours(docker_client, **{LABEL_REUSE_PROJECT: str(pytester.path)}) == []


TWO_FUNCTIONS_CONFTEST = """
import time

import pytest

def pytest_generate_tests(metafunc):
    if "lambda_container" in metafunc.fixturenames:
        metafunc.parametrize("lambda_container", ["app.handler", "app.raw_handler"], indirect=True, scope="session")

def pytest_collection(session):
    session.config.collection_started = time.time()

@pytest.fixture(scope="session")
def lambda_container(request, lambda_container_factory):
    return lambda_container_factory(handler=request.param)
"""
TWO_FUNCTIONS_TESTS = """
import json, os
from datetime import datetime

def started_at(container):
    stamp = container.container.attrs["State"]["StartedAt"]  # nanoseconds, UTC: to microseconds for Python
    return datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()

def record(request, lambda_container):
    with open(os.environ["XDIST_OUT"], "a") as out:
        handler = request.node.callspec.params["lambda_container"]
        session = request.getfixturevalue("lambda_session").id
        out.write(json.dumps({
            "handler": handler,
            "worker": os.environ["PYTEST_XDIST_WORKER"],
            "id": lambda_container.id,
            "session": session,
            "controller": os.getppid(),
            "worker_pid": os.getpid(),
            "started_by": int(lambda_container.container.labels["pytest-lambda-container.pid"]),
            "started_before_collection": started_at(lambda_container) < request.config.collection_started,
        }) + "\\n")
""" + "".join(f"\ndef test_{i}(request, lambda_container):\n    record(request, lambda_container)\n" for i in range(4))


def _leftovers(docker_client, runs):
    """Our containers of these runs still there: the workers' sessions', and the controller's (started ahead)."""
    sessions = {r["session"] for r in runs}
    pids = {r["controller"] for r in runs}
    return left_behind(
        [c for s in sessions for c in list_ours(docker_client, **{LABEL_SESSION: s})]
        + [c for pid in pids for c in list_ours(docker_client, **{LABEL_PID: str(pid)})]
    )


def test_xdist_runs_each_functions_tests_on_one_worker_in_parallel_and_leaves_nothing(
    pytester, lambda_image, docker_client, monkeypatch
):
    """The tests of one function on one worker, in one container, the two functions side by side; the second run's
    controller starts both functions' containers while its workers boot (it remembers the first run's), each taken
    by the worker whose tests need it; nothing left after either run."""
    pytest.importorskip("xdist")
    out = pytester.path / "runs.jsonl"
    monkeypatch.setenv("XDIST_OUT", str(out))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the processes run this checkout's package, not an installed one
    pytester.makeconftest(TWO_FUNCTIONS_CONFTEST)
    pytester.makepyfile(TWO_FUNCTIONS_TESTS)
    args = ("-n", "2", f"--lambda-image={lambda_image.id}", "--lambda-port=0", "-p", "no:cacheprovider")
    for run in ("first", "second"):
        out.write_text("")
        result = pytester.runpytest_subprocess(*args, "-p", "no:randomly")
        result.assert_outcomes(passed=8)
        runs = [json.loads(line) for line in out.read_text().splitlines()]
        where = {h: {(r["worker"], r["id"]) for r in runs if r["handler"] == h} for h in {r["handler"] for r in runs}}
        # Each function's tests on one worker, in one container: started once in the run, not once per worker...
        assert all(len(places) == 1 for places in where.values()), where
        # ... and the two functions on the two workers.
        assert len({worker for places in where.values() for worker, _ in places}) == 2
        if run == "first":
            # The first time, the controller knew only the configured function (the image's own handler), which no
            # test used: the workers started theirs, at their first test.
            assert all(r["started_by"] == r["worker_pid"] and not r["started_before_collection"] for r in runs), runs
        else:
            # The second time, it started both while the workers booted: each worker took a container it had not
            # started, ready before the worker even collected.
            assert all(r["started_by"] == r["controller"] and r["started_before_collection"] for r in runs), runs
        # Nothing left: what the workers started, nor what the controller did (the engine is shared: other runs'
        # containers are not this one's).
        assert _leftovers(docker_client, runs) == []


SELECTED_APART = """
def test_plain():
    pass

def test_calls(invoke):
    assert invoke("GET", "/test1").status_code == 200
"""


def test_xdist_remembers_only_the_functions_a_selected_test_reached(pytester, lambda_image, monkeypatch):
    """A `-k` that leaves only tests that never call the function: the workers' collection started it early (it saw
    `test_calls`), but no selected test reached it, so the next run's controller is told to start nothing ahead;
    a run whose selected test calls it is remembered as using it."""
    pytest.importorskip("xdist")
    from pytest_lambda_container.config.settings import Settings
    from pytest_lambda_container.container import handoff_files

    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the processes run this checkout's package, not an installed one
    pytester.makepyfile(SELECTED_APART)
    args = ("-n", "2", f"--lambda-image={lambda_image.id}", "--lambda-port=0", "-p", "no:cacheprovider")
    memory = handoff_files.memory_file(Settings(rootdir=pytester.path))
    pytester.runpytest_subprocess(*args, "-k", "plain", timeout=300).assert_outcomes(passed=1)
    assert json.loads(memory.read_text()) == []
    pytester.runpytest_subprocess(*args, "-k", "calls", timeout=300).assert_outcomes(passed=1)
    assert [item["image"] for item in json.loads(memory.read_text())] == [lambda_image.id]
