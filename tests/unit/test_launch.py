"""The launch plan: every decision made before a container exists, checked without Docker."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from docker.types import Ulimit

from pytest_lambda_container import ContainerError, HandlerImportError
from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.config.environment import environment as lambda_environment
from pytest_lambda_container.container import launch, sandbox, startup
from pytest_lambda_container.container.launch import RIE_MOUNT, emulator_command
from pytest_lambda_container.container.sandbox import Sandbox
from pytest_lambda_container.engine import hygiene
from pytest_lambda_container.errors import RuntimeUnavailable


def _image(id: str, ref: str, **config: Any) -> ImageInfo:
    return ImageInfo(id, ref, ImageConfig(**config))


CUSTOM = _image(
    id="sha256:custom",
    ref="fn:custom",
    entrypoint=("/usr/local/bin/python", "-m", "awslambdaric"),
    cmd=("app.handler",),
    workdir="/function",
)
AWS = _image(
    id="sha256:aws",
    ref="fn:aws",
    entrypoint=("/lambda-entrypoint.sh",),
    cmd=("app.handler",),
    env={"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime"},
)
VOLUME = "plc-emulator-0123456789abcdef"


def test_emulator_command():
    assert emulator_command(CUSTOM, None) == (
        [RIE_MOUNT],
        ["/usr/local/bin/python", "-m", "awslambdaric", "app.handler"],
    )
    assert emulator_command(CUSTOM, "app.other")[1][-1] == "app.other"
    cmd_only = _image(id="z", ref="fn", cmd=("python3", "-m", "awslambdaric", "app.handler"))
    assert emulator_command(cmd_only, "app.other")[1] == ["python3", "-m", "awslambdaric", "app.other"]
    entry_only = _image(id="e", ref="fn", entrypoint=("/usr/local/bin/python", "-m", "awslambdaric", "app.h"))
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
        emulator_command(_image(id="n", ref="fn:none"), None)


def test_a_custom_image_gets_the_emulator_mounted_read_only_as_entrypoint():
    plan = launch.plan(CUSTOM, labels=hygiene.labels("s1"), emulator_volume=VOLUME)
    options = plan.create_options(name="plc-s1-x", port=9000)
    assert options["entrypoint"] == [RIE_MOUNT]
    assert options["command"] == ["/usr/local/bin/python", "-m", "awslambdaric", "app.handler"]
    assert options["volumes"] == {VOLUME: {"bind": "/aws-lambda", "mode": "ro"}}


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
    monkeypatch.setenv("AWS_PROFILE", "host-profile")
    given = {**lambda_environment("fn", "eu-west-1", instance="0" * 32), "LISTED": "yes"}
    plan = launch.plan(AWS, labels={}, environment=given, timeout=2.5)
    assert plan.create_options(name="n", port=0)["environment"] == given
    assert given["AWS_ACCESS_KEY_ID"] != "AKIAHOSTKEY" and "AWS_PROFILE" not in given


def test_lambdas_variables_by_default():
    environment = launch.plan(AWS, labels={}, timeout=2.5).environment
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "function"
    assert environment["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"
    # A custom image's code is not in /var/task: nothing may tell its runtime otherwise.
    assert "LAMBDA_TASK_ROOT" not in launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME).environment


def test_engine_options_are_passed_on():
    nproc = Ulimit(name="nproc", soft=4096, hard=4096)
    plan = launch.plan(AWS, labels={}, engine_options={"ulimits": [nproc], "x": 1})
    assert plan.create_options(name="n", port=0)["ulimits"] == [nproc]


def test_lambdas_open_file_and_process_limits_go_over_the_engines():
    """Lambda: 1,024 file descriptors and 1,024 processes/threads
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); the processes by a per-container pids
    limit with room for the emulator's own threads, never an nproc ulimit (per user, across containers)."""
    podman = [Ulimit(name="nofile", soft=16384, hard=16384), Ulimit(name="nproc", soft=4096, hard=4096)]
    plan = launch.plan(AWS, labels={}, sandbox=Sandbox(), engine_options={"ulimits": podman})
    options = plan.create_options(name="n", port=0)
    limits = {
        u.get("Name", u.get("name")): (u.get("Soft", u.get("soft")), u.get("Hard", u.get("hard")))
        for u in options["ulimits"]
    }
    assert limits == {"nofile": (1024, 1024), "nproc": (4096, 4096)}
    assert options["pids_limit"] == 1024 + sandbox.EMULATOR_TASKS
    assert "nofile" not in str(
        launch.plan(AWS, labels={}, sandbox=Sandbox(enabled=False)).create_options(name="n", port=0)
    )


def test_the_startup_check_runs_the_runtimes_python_where_the_runtime_would():
    custom = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, handler="app.other").startup_check
    assert custom is not None
    assert custom.handler == "app.other" and custom.workdir == "/function"
    # The runtime's own interpreter, asked for the runtime's module and then the handler.
    assert custom.argv[0] == "/usr/local/bin/python" and custom.argv[-2:] == ("app.other", "awslambdaric")
    aws = launch.plan(AWS, labels={}).startup_check
    assert aws is not None
    assert aws.argv[0] == "/var/lang/bin/python3" and aws.workdir == "/var/task"
    assert aws.environment == {"PYTHONPATH": "/var/runtime"}


def test_a_runtime_we_cannot_see_into_is_checked_for_its_program():
    shell = _image(id="s", ref="fn", entrypoint=("/entry.sh",), cmd=("app.handler",), workdir="/function")
    check = launch.plan(shell, labels={}, emulator_volume=VOLUME).startup_check
    assert check is not None and check.handler == ""
    assert check.argv[:2] == ("sh", "-c") and check.argv[-1] == "/entry.sh" and check.workdir == "/function"
    assert not check.runs_the_runtimes_program  # a missing shell says nothing about the runtime


def test_a_bare_interpreter_is_refused_before_any_container_with_the_fix():
    bare = _image(id="b", ref="fn:bare", cmd=("python3",))
    with pytest.raises(RuntimeUnavailable) as info:
        launch.plan(bare, labels={}, emulator_volume=VOLUME)
    assert info.value.cause.startswith("python3: an interpreter with no program to run exits at once")
    assert str(info.value).startswith(info.value.cause + "\nimage fn:bare cannot start a Lambda runtime")
    assert 'ENTRYPOINT ["python", "-m", "awslambdaric"]' in str(info.value)


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
    check = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME).startup_check
    assert check is not None
    error = startup.verdict(check, "fn:custom", code, output)
    assert (error.error_type if isinstance(error, HandlerImportError) else None) == expected
    if isinstance(error, HandlerImportError):
        assert "handler 'app.handler' of fn:custom" in error.error_message


@pytest.mark.parametrize(
    ("image", "code", "output", "cause"),
    [
        (CUSTOM, 4, "/usr/local/bin/python: No module named awslambdaric", None),
        (
            CUSTOM,
            126,
            'OCI runtime exec failed: exec failed: unable to start container process: exec: "/usr/local/bin/python": '
            "stat /usr/local/bin/python: no such file or directory: unknown",
            'exec: "/usr/local/bin/python": stat /usr/local/bin/python: no such file or directory',
        ),
        (
            CUSTOM,
            127,
            "crun: executable file `/usr/local/bin/python` not found in $PATH: No such file or directory: OCI runtime "
            "attempted to invoke a command that was not found",
            "executable file `/usr/local/bin/python` not found in $PATH",
        ),
        (
            _image(id="c", ref="fn", cmd=("app.handler",)),
            4,
            'exec: "app.handler": executable file not found in $PATH',
            None,
        ),
    ],
    ids=["no-runtime-module", "no-interpreter-docker", "no-interpreter-podman", "handler-name-as-program"],
)
def test_a_runtime_that_cannot_start_is_named_in_its_own_words_first(image, code, output, cause):
    check = launch.plan(image, labels={}, emulator_volume=VOLUME).startup_check
    assert check is not None
    error = startup.verdict(check, "fn:x", code, output)
    assert isinstance(error, RuntimeUnavailable)
    assert error.cause == (cause or output)
    assert str(error).splitlines()[0] == error.cause
    assert "fn:x cannot start a Lambda runtime" in str(error) and "pip install awslambdaric" in str(error)


def test_a_missing_shell_tells_nothing():
    shell = _image(id="s", ref="fn", entrypoint=("/entry.sh",))
    check = launch.plan(shell, labels={}, emulator_volume=VOLUME).startup_check
    assert check is not None
    oci = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file'
    assert startup.verdict(check, "fn", 126, oci) is None


def test_the_startup_scripts_verdicts_in_this_python(tmp_path):
    # The script itself, run here as the container would run it: Python's own words for a missing module.
    check = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME).startup_check
    assert check is not None
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")
    script = check.argv[2]

    def run(handler: str, runtime: str) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-c", script, handler, runtime], cwd=tmp_path, capture_output=True, text=True
        )
        return done.returncode, done.stdout.strip()

    assert run("app.handler", "json") == (
        4,
        f"{sys.executable}: No module named json.__main__; 'json' is a package and cannot be directly executed",
    )
    assert run("app.handler", "no_such_runtime_client") == (
        4,
        f"{sys.executable}: No module named no_such_runtime_client",
    )
    assert run("app.handler", "pytest") == (0, "")
    assert run("app.missing", "pytest")[0] == 3


def test_an_aws_base_image_of_another_language_is_not_refused_for_lacking_python():
    node = _image(id="n", ref="fn:node", entrypoint=("/lambda-entrypoint.sh",), cmd=("index.handler",))
    check = launch.plan(node, labels={}).startup_check
    assert check is not None
    missing = 'OCI runtime exec failed: exec: "/var/lang/bin/python3": stat /var/lang/bin/python3: no such file'
    assert startup.verdict(check, "fn:node", 126, missing) is None
    assert startup.verdict(check, "fn:node", 127, "sh: /var/lang/bin/python3: not found") is None


def test_the_checks_traceback_of_an_import_error_is_the_users_frames_only(tmp_path):
    # The check's own script, run for real by this Python: the report shows the user's frames once, not the script's
    # (`File "<string>"`), not importlib's (its import_module, its frozen bootstrap), and no second "Traceback" header
    # under the error's own "Function stack trace" (issue 21, item 10).
    (tmp_path / "helpers.py").write_text("import json\nfrom json import nothing_here\n")
    (tmp_path / "app.py").write_text("import os\nimport helpers\n\ndef handler(event, context):\n    return 1\n")
    check = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME).startup_check
    assert check is not None
    run = subprocess.run(
        [sys.executable, "-c", startup.CHECK_SCRIPT, "app.handler", ""], cwd=tmp_path, capture_output=True, text=True
    )
    error = startup.verdict(check, "fn:custom", run.returncode, run.stdout)
    assert isinstance(error, HandlerImportError), run
    trace = "".join(error.stack_trace)
    assert f'File "{tmp_path}/app.py", line 2, in <module>' in trace
    assert f'File "{tmp_path}/helpers.py", line 2, in <module>' in trace
    assert "<string>" not in trace and "<frozen" not in trace and "importlib" not in trace
    assert str(error).count("Traceback") == 0 and str(error).count("Function stack trace") == 1
    assert "cannot import name 'nothing_here'" in error.error_message
