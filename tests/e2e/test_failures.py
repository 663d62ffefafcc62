"""Failures surfaced fast and clearly, and hygiene under load: real containers, real faults."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

import httpx
import pytest

from pytest_lambda_container import ContainerExited, FunctionError, FunctionTimeout, LambdaTransport
from pytest_lambda_container.container.protocol import function_target_command

pytestmark = pytest.mark.docker

FAILING_TEST = """
def test_passes(invoke):
    assert invoke("GET", "/log", {"line": "quiet-passing-line"}).status_code == 200

def test_fails_after_logging(invoke):
    assert invoke("GET", "/log", {"line": "hello-from-the-function"}).status_code == 200
    assert False, "the test fails"
"""


def client_for(container) -> httpx.Client:
    return httpx.Client(base_url="http://lambda", transport=LambdaTransport(container))


def test_function_timeout_names_the_limit_and_the_next_invoke_works(lambda_container_factory):
    # 3 s, not less: the call after a timeout re-inits the runtime (FastAPI's import) on the sandbox's CPU share.
    fn = lambda_container_factory(timeout=3)
    client = client_for(fn)
    assert client.get("/sleep", params={"seconds": 0}).status_code == 200  # the runtime is loaded before timing
    with pytest.raises(FunctionTimeout) as info:
        client.get("/sleep", params={"seconds": 30})
    # The emulator's own events, not this machine's clock (a loaded host stretches that): it reset the runtime for a
    # timeout and reports the call ran its full limit; the answer came then, not after the 30 s sleep.
    assert fn.last_report.duration_ms >= 3000
    if not fn.plan.has_init_room:
        assert "Reset initiated: Timeout" in fn.logs()
    # Else its init outran the 3 s (FastAPI's import on a loaded host): the container was started again with room for
    # the init, and the plugin, keeping the timeout itself, ended the call (warmup.py), where the emulator says nothing
    # of a timeout; its report is the plugin's, of the full limit (metrics.LazyReport.ended_at_timeout).
    assert "Task timed out after 3.00 seconds" in str(info.value)
    assert "the limit is 3s" in str(info.value) and info.value.timeout == 3
    assert client.get("/sleep", params={"seconds": 0}).json() == {"slept": 0}


def test_runtime_exit_is_a_function_error_not_a_success(lambda_container_factory):
    client = client_for(lambda_container_factory())
    with pytest.raises(FunctionError) as info:
        client.get("/exit", params={"code": 3})
    assert info.value.error_type == "Runtime.ExitError"
    assert "exit status 3" in info.value.error_message
    assert client.get("/test1").json() == {"message": "test"}


def test_a_killed_container_fails_the_call_then_comes_back(lambda_container_factory):
    fn = lambda_container_factory(env={"PURPOSE": "to be killed"})
    client = client_for(fn)
    assert client.get("/test1").status_code == 200
    fn.container.kill()
    with pytest.raises(ContainerExited) as info:
        client.get("/test1")
    assert info.value.exit_code == 137
    assert "container exited with code 137" in str(info.value)
    assert "START RequestId" in info.value.logs  # the log tail of the dead container
    assert client.get("/test1").json() == {"message": "test"}
    assert fn.restarts == 1


def test_failed_tests_get_the_container_log_attached(pytester, lambda_image):
    # The passing test first: its call's last lines may reach the engine after the failing test began (a loaded
    # machine), and the failing test's log is cut to its own calls by their request ids (unit: test_call_log.py).
    pytester.makepyfile(FAILING_TEST)
    result = pytester.runpytest("-p", "no:randomly", "--lambda-image", lambda_image.id, "--lambda-port", "0")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Captured lambda container log plc-* (call)*", "*hello-from-the-function*"])
    result.stdout.no_fnmatch_line("*quiet-passing-line*")
    # Once (the test's source, shown in its traceback, names it too).
    assert [line for line in result.outlines if line.strip() == "hello-from-the-function"] == [
        "hello-from-the-function"
    ]


def test_keep_leaves_the_container_and_says_how_to_reach_it(
    inner_pytest, tmp_path, pytester, lambda_image, docker_client
):
    # A real process, so that its exit (atexit and all) is part of the test.
    proc = inner_pytest.spawn(
        tmp_path, FAILING_TEST, f"--lambda-image={lambda_image.id}", "--lambda-keep", "-k", "passes"
    )
    out = proc.communicate(timeout=120)[0]
    line = next(line for line in out.splitlines() if "keeping container" in line)
    name = line.split("keeping container ")[1].split()[0]
    try:
        assert docker_client.containers.get(name).status == "running"
        assert f"docker rm -f {name}" in line
        # The hint's own command, pasted as a user would: a complete event that current Mangum routes.
        hint = re.search(r"invoke it with `([^`]+)`", line)[1]
        answer = subprocess.run(hint, shell=True, capture_output=True, text=True, timeout=60, env=os.environ)
        assert answer.returncode == 0, answer.stderr
        result = json.loads(answer.stdout)
        assert result["statusCode"] == 404 and "unable to infer" not in answer.stdout, result  # GET /: no route
        # And the suite's own command for it: the function target at the emulator (issue 21, item 7).
        url = re.search(r" at (http://127\.0\.0\.1:\d+): invoke it", line)[1]
        assert f"run the tests against it with `{function_target_command(url)}`" in line
        # The next session's sweep of orphans leaves a kept container alone, though its pytest is gone.
        pytester.makepyfile(FAILING_TEST)
        pytester.runpytest(f"--lambda-image={lambda_image.id}", "--lambda-port=0", "-k", "passes").assert_outcomes(
            passed=1
        )
        assert docker_client.containers.get(name).status == "running"
    finally:
        docker_client.containers.get(name).remove(force=True)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _memory(container) -> int:
    return int(container.container.stats(stream=False)["memory_stats"]["usage"])


#: Sequential calls of the soak, and the container memory growth each may add before the soak calls it a leak.
SOAK_CALLS = 400
LEAK_PER_CALL = 15 * 1024


@pytest.mark.slow
def test_soak_400_sequential_invocations(invoke, lambda_container):
    """No error, no file descriptor and no container memory kept per call, over 400 calls after a warm-up.

    400, not the 2,000 this test once made: a descriptor kept per call shows after three calls; the container's
    memory, measured here over 2,000 calls, moved by under 1 MB either way (the runtime's own churn), so a bound of
    15 KB a call (6 MB over 400 calls, the 30 MB over 2,000 this test had) is met by a healthy function and not by
    one that leaks that much per call. A fifth of the calls proves the same, in a fifth of the time."""

    def one(i: int) -> None:
        kind = i % 4
        if kind == 0:
            assert invoke("GET", "/test1").json() == {"message": "test"}
        elif kind == 1:
            assert invoke("POST", "/test3", {"message": str(i)}).json() == {"message": str(i)}
        elif kind == 2:
            r = invoke("POST", "/items", json={"name": f"n{i}", "price": 1.0})
            assert r.status_code == 201
        else:
            assert invoke("GET", f"/items/{i}", {"q": ["a", "b"]}).json()["item_id"] == i

    for i in range(100):  # warm up: runtime loaded, connection open
        one(i)
    fds, memory = _open_fds(), _memory(lambda_container)
    errors: list[BaseException] = []
    for i in range(SOAK_CALLS):
        try:
            one(i)
        except Exception as exc:  # collected: the assertion below shows them all
            errors.append(exc)
    assert errors == []
    assert _open_fds() <= fds + 2, "file descriptors grow with invocations"
    grown = _memory(lambda_container) - memory
    assert grown < SOAK_CALLS * LEAK_PER_CALL, f"container memory grew by {grown / 1e6:.1f} MB over {SOAK_CALLS} calls"
    assert lambda_container.exit_code() is None


@pytest.mark.slow
def test_8_threads_x_100_calls_on_one_container(invoke, lambda_container):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        for i in range(100):
            try:
                assert invoke("POST", "/test3", {"message": f"{n}-{i}"}).json() == {"message": f"{n}-{i}"}
            except BaseException as exc:  # collected, and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert lambda_container.exit_code() is None
    assert "AlreadyReserved" not in lambda_container.logs()


def test_a_removed_container_fails_one_call_and_the_factory_revives_it_in_place(
    lambda_container_factory, docker_client
):
    fn = lambda_container_factory(env={"PURPOSE": "to be removed"})
    client = client_for(fn)
    assert client.get("/test1").status_code == 200
    errors: list[BaseException] = []

    def worker() -> None:
        for _ in range(30):
            try:
                client.get("/sleep", params={"seconds": 0.05})
            except Exception as exc:  # collected, and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    docker_client.containers.get(fn.name).remove(force=True)
    for t in threads:
        t.join()
    # Exactly one call learns that the container died; every later call got a fresh one.
    assert [type(e).__name__ for e in errors] == ["ContainerExited"]
    again = lambda_container_factory(env={"PURPOSE": "to be removed"})
    assert again is fn and fn.restarts == 1
    assert client.get("/test1").json() == {"message": "test"}
