"""End to end against real containers: the plugin's own behaviour (the example app's tests are in example_app/)."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from pytest_lambda_container import HandlerImportError, LambdaContainer
from pytest_lambda_container.container import launch
from pytest_lambda_container.container.protocol import INVOKE_PATH
from pytest_lambda_container.engine import hygiene
from pytest_lambda_container.engine.hygiene import LABEL, LABEL_PID, LABEL_SESSION
from pytest_lambda_container.fronts.events import EventOptions, HttpRequest, get_format
from pytest_lambda_container.parallel import HANDOFF

from .conftest import REMOVAL_WAIT, left_behind

pytestmark = pytest.mark.docker

HELLO_TEST = """
def test_hello(invoke):
    assert invoke("GET", "/test1").json() == {"message": "test"}
"""


def test_container_fixture_shape(lambda_container: LambdaContainer):
    assert lambda_container.url == f"http://127.0.0.1:{lambda_container.port}"
    event = get_format("rest").build(HttpRequest("GET", "/test1"), EventOptions())
    result = lambda_container.invoke_event(event)
    assert result["statusCode"] == 200
    assert "START RequestId" in lambda_container.logs()


def test_raw_post_answers_like_the_plugin(lambda_container: LambdaContainer):
    # The emulator itself, reached without the plugin: our URL and port are the real thing.
    # (No other call is in flight: this suite invokes from one thread at a time, outside the load tests.)
    event = get_format("rest").build(HttpRequest("GET", "/test1"), EventOptions())
    r = httpx.post(lambda_container.url + INVOKE_PATH, json=event, timeout=30)
    assert r.json()["body"] == '{"message":"test"}'


def test_container_is_labelled_and_published_on_loopback_only(lambda_container, lambda_session, pytestconfig):
    attrs = lambda_container.container.attrs
    labels = attrs["Config"]["Labels"]
    assert labels[LABEL] == "1"
    # Its owner (engine/hygiene.py): this session, in this process; or, under xdist, the controller that started it
    # ahead for this worker (container/handoff.py), in the worker's parent process.
    owners = {(lambda_session.id, str(os.getpid()))}
    handed = getattr(pytestconfig, "workerinput", {}).get(HANDOFF)
    if handed:
        owners.add((handed["session"], str(os.getppid())))
    assert (labels[LABEL_SESSION], labels[LABEL_PID]) in owners
    bindings = attrs["HostConfig"]["PortBindings"]["8080/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("no_such_module.handler", "Runtime.ImportModuleError", "Unable to import module 'no_such_module'"),
        ("app.no_such_function", "Runtime.HandlerNotFound", "Handler 'no_such_function' missing on module 'app'"),
        ("nodots", "Runtime.MalformedHandlerName", "Bad handler 'nodots'"),
    ],
)
def test_a_handler_that_cannot_load_fails_at_start(
    lambda_container_factory, lambda_session, lambda_container, docker_client, handler, error_type, message
):
    with pytest.raises(HandlerImportError) as info:
        lambda_container_factory(handler=handler)
    assert info.value.error_type == error_type
    assert message in info.value.error_message
    assert info.value.container.startswith("plc-") and info.value.logs is not None
    # Nothing is left in the engine for it, running or stopped. (`lambda_container`'s owner is this session, or under
    # xdist the controller that handed it over: engine/hygiene.py.)
    owners = {lambda_session.id, lambda_container.container.labels[LABEL_SESSION]}
    ours = [
        c
        for owner in owners
        for c in docker_client.containers.list(
            all=True, ignore_removed=True, filters={"label": f"{LABEL_SESSION}={owner}"}
        )
    ]
    assert ours, "the session's own containers are found by this filter"
    assert [c.name for c in ours if handler in (c.attrs["Config"]["Cmd"] or [])] == []


def test_without_the_check_the_first_invoke_reports_the_import_error(lambda_session, lambda_image):
    plan = launch.plan(
        lambda_image,
        labels=hygiene.labels(lambda_session.id),
        emulator_volume=lambda_session.emulator_volume(lambda_image),
        handler="no_such_module.handler",
    )
    container = LambdaContainer.start(lambda_session.engine(), plan, port=0, check_startup=False)
    try:
        with pytest.raises(HandlerImportError) as info:
            container.invoke_event({})
        assert info.value.error_type == "Runtime.ImportModuleError"
        assert "no_such_module" in info.value.error_message
        # The container's log travels with the error, not in its message (the report shows it once).
        assert "START RequestId" in info.value.logs and "START RequestId" not in str(info.value)
        assert info.value.container == container.name
    finally:
        container.remove()


def test_session_ends_with_no_container_left(pytester, lambda_image, docker_client, foreign_containers):
    # The run's container carries the test's mark (or `foreign_containers` would find nothing, whatever was left).
    marked = "assert any(e.startswith('PLC_E2E_RUN=') for e in lambda_container.container.attrs['Config']['Env'])"
    pytester.makepyfile(HELLO_TEST + f"\n\ndef test_marked(lambda_container):\n    {marked}\n")
    result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", "0")
    result.assert_outcomes(passed=2)
    assert foreign_containers() == []


def test_busy_port_falls_back_to_a_free_one_and_says_so(pytester, lambda_image, lambda_container):
    pytester.makepyfile(HELLO_TEST)
    result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", str(lambda_container.port))
    result.assert_outcomes(passed=1)
    # The port it took, named (issue 21, item 11): a user who wants to curl it needs it.
    said = re.search(
        rf"port {lambda_container.port} on 127\.0\.0\.1 is busy; the emulator is on port (\d+) instead "
        r"\(http://127\.0\.0\.1:(\d+)\)",
        result.stdout.str(),
    )
    assert said and said[1] == said[2] and int(said[1]) not in (0, lambda_container.port), result.stdout.str()


def test_lambda_image_builds_nothing(pytester, lambda_image):
    pytester.makepyfile(
        HELLO_TEST
        + """
def test_no_build(lambda_session, lambda_image):
    assert lambda_session.builds == 0 and not lambda_image.built
"""
    )
    result = pytester.runpytest("--lambda-image", lambda_image.ref, "--lambda-port", "0")
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*build step*")


def test_build_shows_progress_then_reuses_the_image(pytester):
    pytester.makefile("", Dockerfile='FROM python:3.11-slim\nRUN echo progress-check-$((6*7))\nCMD ["x.y"]\n')
    # The first run writes pytest's and Python's caches into the context, with no .dockerignore: never a rebuild.
    pytester.makepyfile("def test_image(lambda_image):\n    assert lambda_image.cmd == ('x.y',)\n")
    nonce = f"--lambda-build-arg=NONCE={time.time_ns()}"
    first = pytester.runpytest(nonce)
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(
        [
            "*build args: {'NONCE': '*'}",
            "*build step 1/3: FROM python:3.11-slim*",
            "*build step 2/3: RUN echo progress-check*",
            "*built pytest-lambda-container/*",
        ]
    )
    second = pytester.runpytest(nonce)
    second.assert_outcomes(passed=1)
    second.stdout.fnmatch_lines(["*is up to date with*Dockerfile*"])
    second.stdout.no_fnmatch_line("*build step*")


def test_build_failure_names_the_dockerfile_and_shows_the_log(pytester):
    pytester.makefile("", Dockerfile="FROM python:3.11-slim\nRUN echo about-to-fail-$((2+2)) && exit 3\n")
    pytester.makepyfile("def test_image(lambda_image):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*BuildFailed: building */Dockerfile (context *) failed:*returned a non-zero code: 3*", "*about-to-fail-4*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_missing_image_is_a_clear_error(pytester):
    pytester.makepyfile(HELLO_TEST)
    result = pytester.runpytest("--lambda-image", "no-such-image:nope")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ConfigError: image 'no-such-image:nope' does not exist in the Docker engine*"])


SLOW_TEST = """
import pathlib, time
def test_slow(invoke):
    assert invoke("GET", "/test1").status_code == 200
    pathlib.Path("started").write_text("yes")
    time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_session_removes_its_container(inner_pytest, tmp_path, lambda_image, containers_of_pid, signum):
    proc = inner_pytest.spawn(tmp_path, SLOW_TEST, f"--lambda-image={lambda_image.id}")
    try:
        inner_pytest.wait_for(tmp_path / "started", proc)
        assert containers_of_pid(proc.pid)
        proc.send_signal(signum)
        out = proc.communicate(timeout=60)[0]
    finally:
        proc.kill()
    assert "KeyboardInterrupt" in out
    # At once, not `left_behind`: an interrupted run waits for its removals' end before it says so.
    assert containers_of_pid(proc.pid) == []


#: The inner run's last act: the time it ends, on this machine's clock (atexit runs the last registered first, so
#: this one, registered at the conftest's import, last of all: after the plugin's wait at exit).
LAST_ACT = """
import atexit, pathlib, time

atexit.register(lambda: pathlib.Path("ended").write_text(str(time.time_ns())))
"""
#: The inner run's removal asks the engine only once the process is exiting, and a while after: the exit has to wait
#: for the request to reach the engine, or the process is gone first (registered at the run's end: run at exit
#: before the plugin's wait).
ASKED_AT_EXIT = """
import threading
from pytest_lambda_container.container.docker import DockerContainer

exiting = threading.Event()
_force_remove = DockerContainer._force_remove

def _at_exit(self):
    assert exiting.wait(60)
    time.sleep(0.5)
    _force_remove(self)

DockerContainer._force_remove = _at_exit

def pytest_unconfigure():
    atexit.register(exiting.set)
"""


@pytest.mark.parametrize("asked", ["at-once", "at-exit"])
def test_a_run_exits_once_docker_has_its_removal_and_docker_ends_it(
    inner_pytest, tmp_path, lambda_image, containers_of_pid, docker_client, asked
):
    """A run's exit waits until Docker has its container's removal in hand (engine/removals.py: the `kill` that
    moby's ContainerRm logs as it begins, daemon/delete.go and daemon/kill.go), not for its end: Docker ends it with
    the process gone (ContainerRm takes no request context). The engine logged the run's forced removal (its kill)
    before the process ended, and the container goes within the bounded wait, never left running; also when the
    removal is asked for only as the process exits (an exit that did not wait for the engine to have it would be
    over first, and its container left for another run's sweep)."""
    (tmp_path / "conftest.py").write_text(LAST_ACT + (ASKED_AT_EXIT if asked == "at-exit" else ""))
    started = datetime.now(timezone.utc) - timedelta(seconds=1)  # whole seconds for the engine: this one's included
    proc = inner_pytest.spawn(tmp_path, HELLO_TEST, f"--lambda-image={lambda_image.id}", "-p", "no:randomly")
    try:
        out = proc.communicate(timeout=120)[0]
    finally:
        proc.kill()
    assert proc.returncode == 0 and "1 passed" in out, out
    assert "could not remove" not in out, out
    ended = int((tmp_path / "ended").read_text())
    assert left_behind(containers_of_pid(proc.pid)) == []
    # Its log, to its destroy at the latest; the engine runs on this machine (its clock is the run's).
    until = datetime.now(timezone.utc) + timedelta(seconds=REMOVAL_WAIT)
    log = []
    for event in docker_client.events(
        since=started, until=until, decode=True, filters={"type": "container", "label": f"{LABEL_PID}={proc.pid}"}
    ):
        log.append((event["Action"], event["timeNano"]))
        if event["Action"] == "destroy":
            break
    actions = [action for action, _ in log]
    assert actions[0] == "create" and actions[-1] == "destroy", actions
    kill = next(when for action, when in log if action == "kill")  # the forced removal of a running container
    assert kill < ended, "the removal began after the run was gone: it did not wait for the engine to have it"


def test_a_killed_sessions_containers_are_reaped_by_the_next(
    inner_pytest, tmp_path, lambda_image, containers_of_pid, pytester, lambda_container, monkeypatch
):
    proc = inner_pytest.spawn(tmp_path, SLOW_TEST, f"--lambda-image={lambda_image.id}")
    try:
        inner_pytest.wait_for(tmp_path / "started", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    left = containers_of_pid(proc.pid)
    assert len(left) == 1  # SIGKILL leaves debris behind...
    pytester.makepyfile(HELLO_TEST)
    # What the next session's sweep removed, as it returned it (the in-process run calls it in this process).
    swept: list[str] = []
    reap = hygiene.reap_orphans

    def watched(engine):
        removed = reap(engine)
        swept.extend(removed)
        return removed

    monkeypatch.setattr(hygiene, "reap_orphans", watched)
    result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", "0")
    result.assert_outcomes(passed=1)
    # ...which the next session removes and says so. Where other runs share the engine (an xdist worker, another
    # checkout's suite, a CI job), the next session to sweep may be one of theirs: then this one has nothing to say.
    said = f"removed container {left[0].name}, left behind by a pytest run that no longer exists"
    assert (left[0].name in swept) == (said in result.stdout.str()), result.stdout.str()
    assert containers_of_pid(proc.pid) == []
    # Nothing else of ours: this session's container lives on.
    assert lambda_container.exit_code() is None


def test_a_container_that_exits_at_start_fails_setup_with_its_log(pytester):
    # The AWS base image's entrypoint takes exactly one argument, and exits 142 otherwise.
    pytester.makefile("", Dockerfile='FROM public.ecr.aws/lambda/python:3.11\nCMD ["a.handler", "extra"]\n')
    pytester.makepyfile(HELLO_TEST)
    started = time.monotonic()
    result = pytester.runpytest("--lambda-port", "0")
    assert time.monotonic() - started < 60
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ContainerExited: container plc-* exited before the emulator answered: container exited with code 142*",
            "*Captured lambda container log plc-* (setup)*",
            "*entrypoint requires the handler name to be the first argument*",
        ]
    )
    # Once: in the report's log section, not again in the error's message.
    assert result.stdout.str().count("entrypoint requires the handler name") == 1


def test_xdist_workers_each_get_a_container_and_leave_none(pytester, lambda_image, foreign_containers):
    pytest.importorskip("xdist")
    pytester.makepyfile(
        "\n".join(
            f"def test_{i}(invoke, lambda_container):\n"
            f"    assert invoke('POST', '/test3', {{'message': '{i}'}}).json() == {{'message': '{i}'}}\n"
            f"    print('URL', lambda_container.url)\n"
            for i in range(6)
        )
    )
    result = pytester.runpytest_subprocess("-n", "2", "--lambda-image", lambda_image.id, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    assert [(c.name, c.status, c.labels) for c in left_behind(foreign_containers())] == []


def test_x_and_internal_errors_still_remove_the_container(pytester, lambda_image, foreign_containers):
    pytester.makepyfile(
        """
        def test_first(invoke):
            assert invoke("GET", "/test1").status_code == 500

        def test_never_runs(invoke):
            pass
        """
    )
    # In the written order (pytest-randomly, installed for the unit tests, would shuffle the inner run): -x stops at
    # test_first.
    result = pytester.runpytest("-x", "-p", "no:randomly", "--lambda-image", lambda_image.id, "--lambda-port", "0")
    result.assert_outcomes(failed=1)
    assert foreign_containers() == []
    pytester.makeconftest(
        """
        def pytest_runtest_logreport(report):
            if report.when == "call":
                raise RuntimeError("a plugin blew up")
        """
    )
    result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", "0")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    assert foreign_containers() == []


def test_containers_that_are_not_ours_or_not_orphans_are_left_alone(pytester, lambda_image, docker_client):
    # Not ours: no label. Someone else's: our label, but another host's session (its owner may be alive there).
    plain = docker_client.containers.create(lambda_image.id, entrypoint=["sleep", "60"])
    other_host = docker_client.containers.create(
        lambda_image.id,
        entrypoint=["sleep", "60"],
        labels={LABEL: "1", LABEL_SESSION: "elsewhere", f"{LABEL}.pid": "1", f"{LABEL}.host": "another-machine"},
    )
    try:
        pytester.makepyfile(HELLO_TEST)
        result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", "0")
        result.assert_outcomes(passed=1)
        for container in (plain, other_host):
            container.reload()  # raises NotFound if the session removed it
    finally:
        plain.remove(force=True)
        other_host.remove(force=True)


def test_a_users_http_proxy_does_not_catch_calls_to_the_container(pytester, lambda_image, monkeypatch):
    # A proxy that does not exist: any call routed through it would fail.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    pytester.makepyfile(HELLO_TEST)
    result = pytester.runpytest("--lambda-image", lambda_image.id, "--lambda-port", "0")
    result.assert_outcomes(passed=1)
