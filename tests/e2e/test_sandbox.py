"""Lambda's sandbox, on by default: each rule broken by a handler fails as on Lambda, on both image kinds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_lambda_container import FunctionError, LambdaSession, PayloadTooLarge, Settings
from pytest_lambda_container.container import sandbox, watch_inside
from pytest_lambda_container.errors import FunctionOutOfMemory

pytestmark = pytest.mark.docker

IMAGES = Path(__file__).resolve().parents[1] / "images"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["custom", "aws"])
def fn(request, lambda_container_factory, lambda_image):
    """The sandbox probe on a custom image (FROM the example app's) and on an AWS base image."""
    if request.param == "custom":
        return lambda_container_factory(
            dockerfile=IMAGES / "Dockerfile.custom-sandbox", build_args={"BASE": lambda_image.id}
        )
    return lambda_container_factory(dockerfile=IMAGES / "Dockerfile.aws-sandbox")


def test_the_function_runs_as_lambdas_unprivileged_user(fn):
    result = fn.invoke_event({})
    assert (result["uid"], result["gid"]) == (993, 990)
    assert fn.container.attrs["HostConfig"]["ReadonlyRootfs"] is True


def test_writing_next_to_the_code_fails_read_only_and_says_why(fn):
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"action": "write_code"})
    message = str(info.value)
    assert "Read-only file system" in message
    assert message.count("Lambda's filesystem is read-only except /tmp") == 1
    assert "--lambda-sandbox off" in message


def test_tmp_fills_to_enospc_at_its_size(fn):
    try:
        with pytest.raises(FunctionError, match="No space left on device"):
            fn.invoke_event({"action": "fill_tmp", "mb": 600})
        # Below the size it fits (the half-written file from before is gone first).
        fn.invoke_event({"action": "clean_tmp"})
        assert fn.invoke_event({"action": "fill_tmp", "mb": 400}) == {"filled": 400}
    finally:
        fn.invoke_event({"action": "clean_tmp"})


def test_a_root_only_file_is_a_permission_error_naming_it(fn):
    with pytest.raises(FunctionError, match=r"PermissionError.*secret\.txt") as info:
        fn.invoke_event({"action": "read_secret"})
    assert "unprivileged user" in str(info.value)


def test_sandbox_off_runs_as_a_plain_docker_run(lambda_image):
    settings = Settings(rootdir=ROOT, sandbox=False, build_network="host", port=0)
    with LambdaSession(settings) as session:
        fn = session.container(dockerfile=IMAGES / "Dockerfile.custom-sandbox", build_args={"BASE": lambda_image.id})
        assert fn.invoke_event({"action": "write_code"}) == {"wrote": True}
        assert fn.invoke_event({"action": "read_secret"}) == {"secret": "secret\n"}
        assert fn.invoke_event({})["uid"] == 0
        assert fn.container.attrs["HostConfig"]["ReadonlyRootfs"] is False


def test_the_function_sees_lambdas_environment(fn):
    result = fn.invoke_event({})
    env = result["env"]
    assert result["memory_limit_in_mb"] == 512 and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert result["function_name"] == env["AWS_LAMBDA_FUNCTION_NAME"] == "function"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"], env["TZ"]) == ("us-east-1", "us-east-1", ":UTC")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/function"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert "fake" in env["AWS_SECRET_ACCESS_KEY"]


def test_the_configured_memory_name_and_region_reach_the_function_and_env_wins(lambda_image, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    settings = Settings(
        rootdir=ROOT,
        build_network="host",
        port=0,
        memory=256,
        function_name="orders",
        region="eu-west-1",
        env={"TZ": "Europe/Paris"},
    )
    with LambdaSession(settings) as session:
        fn = session.container(dockerfile=IMAGES / "Dockerfile.custom-sandbox", build_args={"BASE": lambda_image.id})
        result = fn.invoke_event({})
    env = result["env"]
    assert result["memory_limit_in_mb"] == 256
    assert (result["function_name"], env["AWS_REGION"], env["TZ"]) == ("orders", "eu-west-1", "Europe/Paris")
    assert env["AWS_SECRET_ACCESS_KEY"] != "host-secret"
    # A custom image's code stays where it is: nothing points its runtime at /var/task.
    assert "LAMBDA_TASK_ROOT" not in env


@pytest.mark.parametrize(
    "mb",
    [
        700,  # past the function's 512 MB, within the container's 512 + 512 for /tmp: only the memory watch sees it
        1200,  # past the container's limit too: the kernel's kill, told apart by the OOM-kill count, if it comes first
    ],
)
def test_past_the_memory_limit_is_lambdas_out_of_memory_and_the_next_call_works(fn, mb):
    with pytest.raises(FunctionOutOfMemory) as info:
        fn.invoke_event({"action": "alloc", "mb": mb})
    assert info.value.error_type == "Runtime.OutOfMemory"
    assert "512 MB" in str(info.value) and "--lambda-memory" in str(info.value)
    assert fn.invoke_event({"action": "alloc", "mb": 100}) == {"allocated": 100}


def test_another_kill_is_not_out_of_memory(fn):
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"action": "kill_self"})
    assert info.value.error_type == "Runtime.ExitError" and not isinstance(info.value, FunctionOutOfMemory)
    assert fn.invoke_event({"action": "alloc", "mb": 10}) == {"allocated": 10}


@pytest.mark.parametrize(("tmp", "heap"), [(300, 250), (450, 450)])
def test_tmp_does_not_take_the_functions_memory(fn, tmp, heap):
    # As on Lambda: /tmp and the heap each have their own size (512 MB each here), whatever the other holds.
    assert fn.invoke_event({"action": "tmp_and_heap", "tmp": tmp, "heap": heap}) == {"tmp": tmp, "heap": heap}


@pytest.mark.parametrize("kind", ["custom", "aws"])
def test_the_watch_inside_the_container_holds_lambdas_memory_with_tmp_apart(kind, lambda_image, monkeypatch):
    # Where the host's cgroup files are out of reach (the tests in a container, a remote engine), the watch runs in
    # the function's container; PYTEST_LAMBDA_CONTAINER_MEMWATCH=inside puts it there on this host too.
    monkeypatch.setenv(watch_inside.FORCE_VARIABLE, "inside")
    said: list[str] = []
    with LambdaSession(Settings(rootdir=ROOT, build_network="host", port=0), log=said.append) as session:
        if kind == "custom":
            fields = {"dockerfile": IMAGES / "Dockerfile.custom-sandbox", "build_args": {"BASE": lambda_image.id}}
        else:
            fields = {"dockerfile": IMAGES / "Dockerfile.aws-sandbox"}
        fn = session.container(**fields)
        assert fn.plan.memwatch is not None and not [line for line in said if "cannot be watched" in line], said
        for _ in range(2):  # the watcher outlives the emulator's reset after its kill
            with pytest.raises(FunctionOutOfMemory) as info:
                fn.invoke_event({"action": "alloc", "mb": 700})
            assert info.value.error_type == "Runtime.OutOfMemory"
            assert "went past its 512 MB (stopped at 5" in str(info.value) and "--lambda-memory" in str(info.value)
            assert fn.invoke_event({"action": "alloc", "mb": 100}) == {"allocated": 100}
        # /tmp apart: 450 MB there and 450 MB of heap fit, as on Lambda.
        assert fn.invoke_event({"action": "tmp_and_heap", "tmp": 450, "heap": 450}) == {"tmp": 450, "heap": 450}
        # Another kill is not the watch's.
        with pytest.raises(FunctionError) as killed:
            fn.invoke_event({"action": "kill_self"})
        assert not isinstance(killed.value, FunctionOutOfMemory)


def test_a_watch_record_that_cannot_be_read_after_a_kill_is_a_warning_not_a_silent_verdict(monkeypatch):
    """The watcher's record gone (removed here, as root, from outside the function): the killed call's error stands
    as the emulator gave it, and a warning says that whether it ran out of memory is unknown."""
    monkeypatch.setenv(watch_inside.FORCE_VARIABLE, "inside")
    with LambdaSession(Settings(rootdir=ROOT, build_network="host", port=0)) as session:
        fn = session.container(dockerfile=IMAGES / "Dockerfile.aws-sandbox")
        assert fn.plan.memwatch is not None
        code, _ = fn.container.exec_run(["rm", f"{watch_inside.STATE_DIR}/record"], user="root")
        assert code == 0
        with pytest.warns(UserWarning, match="could not be read after a call whose runtime was killed") as caught:
            with pytest.raises(FunctionError) as killed:
                fn.invoke_event({"action": "kill_self"})
        assert not isinstance(killed.value, FunctionOutOfMemory)
        assert any("No such file" in str(w.message) and "512 MB is unknown" in str(w.message) for w in caught)


@pytest.mark.parametrize("where", ["host", "inside"])
def test_an_init_past_the_memory_starts_and_each_call_is_out_of_memory(where, monkeypatch):
    # Whichever watch runs: the host's watches calls only, the one inside the container stops the warm-up's init
    # too, and says so; the calls are Runtime.OutOfMemory alike (a kill_self included: the re-init comes first).
    monkeypatch.setenv(watch_inside.FORCE_VARIABLE, where)
    said: list[str] = []
    with LambdaSession(Settings(rootdir=ROOT, build_network="host", port=0), log=said.append) as session:
        fn = session.container(dockerfile=IMAGES / "Dockerfile.aws-sandbox", env={"INIT_ALLOC_MB": "700"})
        for event in ({}, {"action": "kill_self"}):
            with pytest.raises(FunctionOutOfMemory) as info:
                fn.invoke_event(event)
            assert "went past its 512 MB (stopped at" in str(info.value)
    if where == "inside":
        assert any("the init of sandbox_probe.handler: The function ran out of memory" in line for line in said), said


def test_lambdas_payload_limits_both_ways_under_the_sandbox(fn):
    with pytest.raises(PayloadTooLarge):
        fn.invoke_event({"action": "big", "pad": "x" * (7 * 1024 * 1024)})
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"action": "big", "bytes": 7 * 1024 * 1024})
    assert info.value.error_type == "Function.ResponseSizeTooLarge"
    assert fn.invoke_event({"action": "big", "bytes": 10}) == "x" * 10


def test_each_invocation_reports_its_real_figures(lambda_image):
    settings = Settings(rootdir=ROOT, build_network="host", port=0)
    with LambdaSession(settings) as session:
        fn = session.container(dockerfile=IMAGES / "Dockerfile.custom-sandbox", build_args={"BASE": lambda_image.id})
        fn.invoke_event({})
        cold = fn.last_report
        assert cold is not None and cold.max_memory_used_mb is not None  # read now, before the next call
        fn.invoke_event({"action": "alloc", "mb": 200})
        warm = fn.last_report
        assert warm is not None and cold is not warm
        assert cold.init_duration_ms is not None and cold.init_duration_ms > 0
        assert warm.init_duration_ms is None and warm.duration_ms > 0 and warm.memory_size_mb == 512
        # The real peak, not the emulator's "Max Memory Used: 512 MB": it grows by what the function allocated.
        assert warm.max_memory_used_mb - cold.max_memory_used_mb > 150
        assert cold.request_id != warm.request_id
        fn.invoke_event({})
        # A report first read after the next call began does not pass that call's peak off as its own.
        previous = fn.last_report
        fn.invoke_event({})
        assert previous.max_memory_used_mb is None and previous.duration_ms > 0


def test_the_http_response_carries_the_report(lambda_client):
    response = lambda_client.get("/")
    report = response.extensions["lambda_report"]
    assert report.duration_ms > 0 and report.billed_duration_ms >= 1 and report.max_memory_used_mb > 10


WRITES = """
def test_write(invoke):
    assert invoke("GET", "/write").status_code == 200  # the user's line


def test_fine_after(invoke):
    assert invoke("GET", "/fine").status_code == 200
    assert False, "show the log"
"""


def test_a_500_whose_log_shows_the_sandbox_at_work_says_so_under_the_failure(pytester, lambda_image):
    # Issue 21, item 3: a FastAPI route writing next to its code answered 500 and the test showed only
    # `assert 500 == 200`; the OSError was in the captured log, glued to the runtime's next record.
    shutil.copy(IMAGES / "Dockerfile.custom-writes", pytester.path / "Dockerfile")
    shutil.copy(IMAGES / "writes_app.py", pytester.path / "writes_app.py")
    pytester.makepyfile(WRITES)
    result = pytester.runpytest("-p", "no:randomly", "--lambda-port=0", f"--lambda-build-arg=BASE={lambda_image.id}")
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    failure = text.split("_ test_write _", 1)[1].split("_ test_fine_after _", 1)[0]
    cause = failure.split("lambda sandbox: the likely cause", 1)[1]
    assert "OSError: [Errno 30] Read-only file system: '/function/out.txt'" in cause.splitlines()[2], cause
    assert "Lambda's filesystem is read-only except /tmp" in cause
    # Under the assertion, before the captured log.
    assert failure.index("assert 500 == 200") < failure.index("likely cause") < failure.index("Captured lambda")
    # A 200 with a failed assertion gets no sandbox story; and no log line runs into the next.
    after = text.split("_ test_fine_after _", 1)[1]
    assert "likely cause" not in after
    assert not re.search(r"\S\[(INFO|ERROR)\]\t\d{4}-", text), text


def test_open_files_and_threads_stop_at_lambdas_1024(fn):
    """Lambda: 1,024 file descriptors and 1,024 processes/threads
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): a runaway loop fails there, not at the
    engine's defaults. Threads by the container's pids limit, which leaves the emulator its own room."""
    limits = fn.invoke_event({"action": "limits"})
    assert limits["nofile"] == [1024, 1024]
    assert 1000 <= limits["files"] < 1024  # the runtime's own descriptors are open already
    assert 1000 <= limits["threads"] <= 1024 + sandbox.EMULATOR_TASKS
    host = fn.container.attrs["HostConfig"]
    assert host["PidsLimit"] == 1024 + sandbox.EMULATOR_TASKS
    assert [(u["Name"], u["Soft"], u["Hard"]) for u in host["Ulimits"]] == [("nofile", 1024, 1024)]
    assert fn.invoke_event({}), "the function answers after its threads are gone"
