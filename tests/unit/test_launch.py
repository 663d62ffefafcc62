"""The launch plan: every decision made before a container exists, checked without Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container import ContainerError, hygiene, launch
from pytest_lambda_container.image import ImageInfo
from pytest_lambda_container.launch import RIE_MOUNT, emulator_command

CUSTOM = ImageInfo(
    id="sha256:custom",
    ref="fn:custom",
    entrypoint=("/usr/local/bin/python", "-m", "awslambdaric"),
    cmd=("app.handler",),
    workdir="/function",
)
AWS = ImageInfo(
    id="sha256:aws",
    ref="fn:aws",
    entrypoint=("/lambda-entrypoint.sh",),
    cmd=("app.handler",),
    env={"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime"},
)
RIE = Path("/cache/aws-lambda-rie-x86_64")


def test_emulator_command():
    assert emulator_command(CUSTOM, None) == (
        [RIE_MOUNT],
        ["/usr/local/bin/python", "-m", "awslambdaric", "app.handler"],
    )
    assert emulator_command(CUSTOM, "app.other")[1][-1] == "app.other"
    cmd_only = ImageInfo(id="z", ref="fn", cmd=("python3", "-m", "awslambdaric", "app.handler"))
    assert emulator_command(cmd_only, "app.other")[1] == ["python3", "-m", "awslambdaric", "app.other"]
    entry_only = ImageInfo(id="e", ref="fn", entrypoint=("/usr/local/bin/python", "-m", "awslambdaric", "app.h"))
    assert emulator_command(entry_only, "probe.other")[1] == [
        "/usr/local/bin/python",
        "-m",
        "awslambdaric",
        "probe.other",
    ]
    assert emulator_command(AWS, None) == (None, ["app.handler"])
    assert emulator_command(AWS, "app.other") == (None, ["app.other"])


def test_an_image_with_nothing_to_run_is_refused_with_the_fix():
    with pytest.raises(ContainerError, match=r"neither ENTRYPOINT nor CMD.*awslambdaric.*--lambda-handler"):
        emulator_command(ImageInfo(id="n", ref="fn:none"), None)


def test_a_custom_image_gets_the_emulator_mounted_read_only_as_entrypoint():
    plan = launch.plan(CUSTOM, labels=hygiene.labels("s1"), rie_path=RIE)
    options = plan.create_options(name="plc-s1-x", port=9000)
    assert options["entrypoint"] == [RIE_MOUNT]
    assert options["command"] == ["/usr/local/bin/python", "-m", "awslambdaric", "app.handler"]
    assert options["volumes"] == {str(RIE): {"bind": RIE_MOUNT, "mode": "ro"}}


def test_an_aws_base_image_runs_its_own_entrypoint_and_needs_no_emulator():
    plan = launch.plan(AWS, labels=hygiene.labels("s1"))
    options = plan.create_options(name="plc-s1-x", port=0)
    assert "entrypoint" not in options and "volumes" not in options
    assert options["command"] == ["app.handler"]


def test_a_custom_image_without_an_emulator_is_refused():
    with pytest.raises(ContainerError, match="does not run the emulator itself, and no aws-lambda-rie was given"):
        launch.plan(CUSTOM, labels={})


@pytest.mark.parametrize("port", [9000, 0])
def test_published_on_loopback_only(port):
    options = launch.plan(AWS, labels={}).create_options(name="n", port=port)
    assert options["ports"] == {"8080/tcp": ("127.0.0.1", port or None)}


def test_labelled_as_ours_with_session_pid_and_host_and_keep_only_when_asked():
    plan = launch.plan(AWS, labels=hygiene.labels("s1"))
    labels = plan.create_options(name="n", port=0)["labels"]
    assert labels[hygiene.LABEL] == "1" and labels[hygiene.LABEL_SESSION] == "s1"
    assert {hygiene.LABEL_PID, hygiene.LABEL_HOST} <= set(labels) and hygiene.LABEL_KEEP not in labels
    kept = launch.plan(AWS, labels=hygiene.labels("s1", keep=True)).labels
    assert kept[hygiene.LABEL_KEEP] == "1"


def test_the_environment_is_what_was_given_never_the_hosts(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    monkeypatch.setenv("AWS_PROFILE", "host-profile")
    plan = launch.plan(AWS, labels={}, env={"LISTED": "yes"}, timeout=2.5)
    assert plan.create_options(name="n", port=0)["environment"] == {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "3",  # whole seconds, rounded up: never shorter than asked
        "LISTED": "yes",
    }


def test_engine_options_are_passed_on():
    plan = launch.plan(AWS, labels={}, engine_options={"ulimits": ["nofile"]})
    assert plan.create_options(name="n", port=0)["ulimits"] == ["nofile"]


def test_the_handler_check_runs_the_runtimes_python_where_the_runtime_would():
    custom = launch.plan(CUSTOM, labels={}, rie_path=RIE, handler="app.other").handler_check
    assert custom is not None
    assert custom.handler == "app.other" and custom.workdir == "/function"
    assert custom.argv[0] == "/usr/local/bin/python" and custom.argv[-1] == "app.other"
    aws = launch.plan(AWS, labels={}).handler_check
    assert aws is not None
    assert aws.argv[0] == "/var/lang/bin/python3" and aws.workdir == "/var/task"
    assert aws.environment == {"PYTHONPATH": "/var/runtime"}
    shell = ImageInfo(id="s", ref="fn", entrypoint=("/entry.sh",), cmd=("app.handler",))
    assert launch.plan(shell, labels={}, rie_path=RIE).handler_check is None  # a runtime we cannot see into


@pytest.mark.parametrize(
    ("code", "output", "expected"),
    [
        (0, "", None),
        (
            3,
            "Traceback...\nRuntime.ImportModuleError: Unable to import module 'nope': boom",
            "Runtime.ImportModuleError",
        ),
        (3, "Runtime.HandlerNotFound: Handler 'x' missing on module 'app'", "Runtime.HandlerNotFound"),
        (1, "python: not found", None),  # not the check's verdict: the first invoke will tell
    ],
)
def test_the_handler_checks_verdict(code, output, expected):
    check = launch.plan(CUSTOM, labels={}, rie_path=RIE).handler_check
    assert check is not None
    error = launch.handler_check_error(check, "fn:custom", code, output)
    assert (error.error_type if error else None) == expected
    if error is not None:
        assert "handler 'app.handler' of fn:custom" in error.error_message
