"""The inprocess target without Docker: the handler found through the Dockerfile, imported in this process, called in
its own thread with Lambda's context, its environment its own, its timeout kept without signals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_lambda_container import (
    CallerTimeout,
    FunctionError,
    FunctionTimeout,
    HandlerImportError,
    InvocationError,
    Settings,
)
from pytest_lambda_container.build.handler_location import locate
from pytest_lambda_container.config.function import FunctionSpec
from pytest_lambda_container.errors import ConfigError
from pytest_lambda_container.inprocess.function import load

APP = """
import json, os, time

AT_IMPORT = os.environ.get("APP_GREETING")


def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("bad " + event["fail"])
    if event.get("big"):
        return "x" * (7 * 1024 * 1024)
    return {
        "at_import": AT_IMPORT,
        "now": os.environ.get("APP_GREETING"),
        "profile": os.environ.get("AWS_PROFILE"),
        "memory": context.memory_limit_in_mb,
        "name": context.function_name,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "where": __file__,
    }
"""

CUSTOM = (
    "FROM python:3.11-slim\nWORKDIR /function\nCOPY requirements.txt ./\nCOPY app.py ./\n"
    'ENTRYPOINT ["python", "-m", "awslambdaric"]\nCMD ["app.handler"]\n'
)
AWS = 'FROM public.ecr.aws/lambda/python:3.11\nCOPY src/ ${LAMBDA_TASK_ROOT}\nCMD ["app.handler"]\n'


def _project(tmp_path: Path, dockerfile: str, app_at: str = "app.py") -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / app_at).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / app_at).write_text(APP)
    return tmp_path


def _load(root: Path, **settings: object) -> object:
    return load(Settings(rootdir=root, target="inprocess", **settings), FunctionSpec())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("dockerfile", "app_at", "folder"),
    [
        (CUSTOM, "app.py", "."),
        (AWS, "src/app.py", "src"),
        ('FROM python:3.11-slim\nWORKDIR /fn\nCOPY pkg ./pkg\nCMD ["pkg.mod.handler"]\n', "pkg/mod.py", "."),
        (
            'FROM python:3.11-slim AS base\nCMD ["app.handler"]\nFROM base\nWORKDIR /w\nCOPY code/ .\n',
            "code/app.py",
            "code",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.11 AS base\nFROM base\n" + AWS.split("\n", 1)[1],
            "src/app.py",
            "src",
        ),
        (
            'FROM python:3.11-slim AS base\nWORKDIR /function\nCOPY app.py ./\nFROM base\nCMD ["app.handler"]\n',
            "app.py",
            ".",
        ),
        (
            "FROM python:3.11-slim\nWORKDIR /fn\nCOPY app.py .\n"
            'ENTRYPOINT ["python", "-m", "awslambdaric", "app.handler"]\n',
            "app.py",
            ".",
        ),
    ],
    ids=[
        "custom-workdir",
        "aws-task-root",
        "package",
        "cmd-of-the-parent-stage",
        "aws-parent",
        "copy-in-parent",
        "handler-in-entrypoint",
    ],
)
def test_the_import_root_is_where_the_dockerfile_copies_the_module(
    tmp_path: Path, dockerfile: str, app_at: str, folder: str
) -> None:
    _project(tmp_path, dockerfile, app_at)
    found = locate(tmp_path / "Dockerfile", tmp_path)
    assert found.folder == (tmp_path / folder).resolve()
    assert found.handler == ("pkg.mod.handler" if "pkg" in app_at else "app.handler")


def test_a_cmd_that_is_not_a_handler_asks_for_one(tmp_path: Path) -> None:
    _project(tmp_path, 'FROM python:3.11-slim\nCMD ["python", "server.py"]\n')
    with pytest.raises(ConfigError, match=r"'python', which is not a Python handler.*--lambda-handler"):
        locate(tmp_path / "Dockerfile", tmp_path)


def test_a_shell_form_cmd_is_named_as_what_the_runtime_would_get(tmp_path: Path) -> None:
    # The shell form runs `/bin/sh -c app.handler`: the AWS base image's runtime would get /bin/sh as its handler.
    _project(tmp_path, "FROM public.ecr.aws/lambda/python:3.11\nCOPY app.py ./\nCMD app.handler\n")
    with pytest.raises(ConfigError, match=r"is '/bin/sh', which is not a Python handler.*write CMD \[\"app\.handler"):
        locate(tmp_path / "Dockerfile", tmp_path)


def test_a_module_that_is_nowhere_asks_for_the_source(tmp_path: Path) -> None:
    _project(tmp_path, 'FROM python:3.11-slim\nCOPY . .\nCMD ["other.handler"]\n')
    with pytest.raises(ConfigError, match=r"cannot find the handler's module other\.py.*--lambda-source DIR"):
        locate(tmp_path / "Dockerfile", tmp_path)


def test_the_handler_runs_with_lambdas_context(tmp_path: Path) -> None:
    fn = _load(
        _project(tmp_path, AWS, "src/app.py"), memory=1024, function_name="orders", region="eu-west-1", timeout=5
    )
    result = fn.invoke_event({})  # type: ignore[attr-defined]
    assert result["where"] == str(tmp_path / "src" / "app.py")
    assert (result["memory"], result["name"]) == ("1024", "orders")  # a string, as awslambdaric gives it
    assert result["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:orders"
    assert 4000 < result["remaining"] <= 5000
    assert fn.invoke_event({})["request_id"] != result["request_id"]  # type: ignore[attr-defined]


def test_the_functions_environment_is_the_functions_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "the-testers")
    monkeypatch.delenv("APP_GREETING", raising=False)
    fn = _load(_project(tmp_path, CUSTOM), env={"APP_GREETING": "hi"})
    result = fn.invoke_event({})  # type: ignore[attr-defined]
    assert (result["at_import"], result["now"]) == ("hi", "hi")  # at import time and in each call
    assert result["profile"] is None  # Lambda has no profile of the tester's
    # The tests see none of it, and their own changes still work.
    assert os.environ.get("APP_GREETING") is None and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
    monkeypatch.setenv("APP_OTHER", "x")
    assert os.environ["APP_OTHER"] == "x" and os.environ["AWS_PROFILE"] == "the-testers"


def test_the_tests_environ_keeps_its_operators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(_project(tmp_path, CUSTOM), env={"APP_GREETING": "hi"})  # os.environ is the scoped one from here on
    monkeypatch.setenv("APP_OTHER", "x")
    merged = os.environ | {"EXTRA": "1"}
    assert merged["APP_OTHER"] == "x" and merged["EXTRA"] == "1" and "APP_GREETING" not in merged
    assert ({"EXTRA": "1"} | os.environ)["APP_OTHER"] == "x"
    assert os.environ.encodekey("A") == b"A"  # type: ignore[attr-defined]


def test_a_handler_that_is_not_in_its_module_fails_at_load(tmp_path: Path) -> None:
    _project(tmp_path, CUSTOM)
    with pytest.raises(HandlerImportError, match="Handler 'nothere' missing on module 'app'") as info:
        _load(tmp_path, handler="app.nothere")
    assert info.value.error_type == "Runtime.HandlerNotFound"


def test_a_result_that_is_not_json_is_lambdas_marshal_error(tmp_path: Path) -> None:
    _project(tmp_path, CUSTOM)
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {1, 2}\n")
    with pytest.raises(FunctionError, match="Unable to marshal response") as info:
        _load(tmp_path).invoke_event({})  # type: ignore[attr-defined]
    assert info.value.error_type == "Runtime.MarshalError"


def test_an_import_error_fails_at_load_with_the_users_traceback(tmp_path: Path) -> None:
    _project(tmp_path, CUSTOM)
    (tmp_path / "app.py").write_text("import json\n\nraise RuntimeError('no config')\n")
    with pytest.raises(HandlerImportError) as info:
        _load(tmp_path)
    assert "Unable to import module 'app'" in str(info.value) and "RuntimeError: no config" in str(info.value)
    assert any("app.py" in line for line in info.value.stack_trace)
    # The user's frames only: not importlib's import_module nor its frozen bootstrap (issue 21, item 10).
    assert not any("importlib" in line for line in info.value.stack_trace), info.value.stack_trace


@pytest.mark.parametrize(
    ("dockerfile", "fix"),
    [
        (
            "FROM python:3.11-slim\nWORKDIR /function\nCOPY deps/requirements.txt /tmp/\n"
            "RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt\nCOPY app.py ./\n"
            'ENTRYPOINT ["python", "-m", "awslambdaric"]\nCMD ["app.handler"]\n',
            "python -m pip install -r deps/requirements.txt",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.11\nCOPY . ${LAMBDA_TASK_ROOT}\n"
            'RUN python -m pip install -U "notinstalled-dep>=1" boto3 --target /opt/python\nCMD ["app.handler"]\n',
            "python -m pip install 'notinstalled-dep>=1' boto3",
        ),
        (CUSTOM, "install the function's dependencies into it"),
    ],
    ids=["requirements-file", "named-packages", "no-pip-install"],
)
def test_a_module_the_test_environment_lacks_is_named_with_what_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dockerfile: str, fix: str
) -> None:
    # Issue 21, item 5: in-process, `No module named 'fastapi'` came with no fix.
    _project(tmp_path, dockerfile)
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "requirements.txt").write_text("notinstalled-dep\n")
    (tmp_path / "app.py").write_text("import notinstalled_dep\n\ndef handler(event, context):\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HandlerImportError) as info:
        _load(tmp_path)
    message = str(info.value)
    assert "No module named 'notinstalled_dep'" in message
    assert f"the tests' own Python ({sys.executable}), which has no 'notinstalled_dep'" in message
    assert fix in message, message


def test_an_exception_is_the_functions_error(tmp_path: Path) -> None:
    fn = _load(_project(tmp_path, CUSTOM))
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"fail": "input"})  # type: ignore[attr-defined]
    assert (info.value.error_type, info.value.error_message) == ("ValueError", "bad input")
    assert any("app.py" in line for line in info.value.stack_trace)
    assert not any("inprocess.py" in line for line in info.value.stack_trace)


def test_a_response_over_6_mb_is_lambdas_error(tmp_path: Path) -> None:
    fn = _load(_project(tmp_path, CUSTOM))
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"big": True})  # type: ignore[attr-defined]
    assert info.value.error_type == "Function.ResponseSizeTooLarge"


def test_past_its_timeout_the_function_fails_and_takes_no_more_calls(tmp_path: Path) -> None:
    fn = _load(_project(tmp_path, CUSTOM), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FunctionTimeout):
        fn.invoke_event({"sleep": 2})  # type: ignore[attr-defined]
    assert time.monotonic() - started < 1.5
    with pytest.raises(InvocationError, match=r"timed out in an earlier call.*takes no more calls"):
        fn.invoke_event({})  # type: ignore[attr-defined]


def test_a_closed_function_refuses_calls_at_once(tmp_path: Path) -> None:
    fn = _load(_project(tmp_path, CUSTOM), timeout=30)
    fn.close()  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(InvocationError, match="was closed"):
        fn.invoke_event({})  # type: ignore[attr-defined]
    assert time.monotonic() - started < 1


STUCK = """
import threading
from pytest_lambda_container import FunctionTimeout
from pytest_lambda_container.inprocess.function import InProcessFunction

fn = InProcessFunction(lambda event, context: threading.Event().wait(), timeout=0.2)
try:
    fn.invoke_event({})
except FunctionTimeout:
    print("timed out")
"""


def test_a_handler_stuck_past_its_timeout_does_not_hold_the_process_open() -> None:
    # The stuck thread cannot be stopped; the test run must still end when its tests do.
    done = subprocess.run([sys.executable, "-c", STUCK], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "timed out", done.stderr


def test_an_integration_timeout_leaves_the_call_to_finish_and_the_next_waits(tmp_path: Path) -> None:
    fn = _load(_project(tmp_path, CUSTOM), timeout=5)
    with pytest.raises(CallerTimeout) as info:
        fn.invoke_event({"sleep": 0.5}, timeout=0.1)  # type: ignore[attr-defined]
    assert info.value.timeout == 0.1 and not isinstance(info.value, FunctionTimeout)  # the function did not time out
    assert fn.invoke_event({})["memory"] == "512"  # type: ignore[attr-defined]


def test_two_functions_with_modules_of_one_name_stay_apart(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    fn_one = _load(_project(one, CUSTOM))
    fn_two = _load(_project(two, CUSTOM))
    assert fn_one.invoke_event({})["where"] == str(one / "app.py")  # type: ignore[attr-defined]
    assert fn_two.invoke_event({})["where"] == str(two / "app.py")  # type: ignore[attr-defined]


NEIGHBOURS = """
import os
import helpers

AT_IMPORT = os.environ.get("APP_GREETING")


def handler(event, context):
    import lazy  # a neighbour first imported during a call

    return {"helper": helpers.WHO, "lazy": lazy.WHO, "at_import": AT_IMPORT}
"""


def _neighbours(folder: Path, who: str) -> Path:
    folder.mkdir()
    _project(folder, CUSTOM)
    (folder / "app.py").write_text(NEIGHBOURS)
    (folder / "helpers.py").write_text(f"WHO = {who!r}\n")
    (folder / "lazy.py").write_text(f"WHO = {who!r}\n")
    return folder


def test_same_named_neighbours_of_two_functions_stay_apart_and_out_of_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = _neighbours(tmp_path / "one", "one"), _neighbours(tmp_path / "two", "two")
    # The tests imported one's module themselves, without the function's environment.
    monkeypatch.syspath_prepend(str(one))
    monkeypatch.delenv("APP_GREETING", raising=False)
    for name in ("app", "helpers", "lazy"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import app  # type: ignore[import-not-found]

    fn_one = _load(one, env={"APP_GREETING": "hi"})
    fn_two = _load(two)
    assert fn_one.invoke_event({}) == {"helper": "one", "lazy": "one", "at_import": "hi"}  # type: ignore[attr-defined]
    assert fn_two.invoke_event({}) == {"helper": "two", "lazy": "two", "at_import": None}  # type: ignore[attr-defined]
    assert fn_one.invoke_event({})["lazy"] == "one"  # type: ignore[attr-defined]
    assert sys.modules["app"] is app and app.AT_IMPORT is None  # the tests' module is theirs, untouched
    assert "helpers" in sys.modules and sys.modules["helpers"].__file__ == str(one / "helpers.py")


TARGET_TESTS = """
def test_invoke(invoke):
    assert invoke("GET", "/x").status_code == 200

def test_logs(lambda_container):
    lambda_container.logs()
"""


def test_the_inprocess_target_needs_no_engine(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    pytester.makefile("", Dockerfile=CUSTOM)
    pytester.makepyfile(app="def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")
    pytester.makepyfile(TARGET_TESTS)
    result = pytester.runpytest("-rs", "--lambda-target", "inprocess", "-p", "no:randomly")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "lambda-container: target inprocess (no Docker)*",
            "lambda-container: in-process, the sandbox does not apply*",
            "*logs() needs a container; the target is inprocess",
        ]
    )
