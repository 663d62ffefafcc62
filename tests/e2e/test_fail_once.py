"""Fail once, clearly, and test the image you ship: what a user reads when the function cannot run, real containers."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "images"
WORKFLOW = ROOT / ".github" / "workflows" / "lambda-image.yml"
ONE_LINE = "lambda container unavailable: see the first error above"

FOUR_TESTS = """
def test_a(lambda_image): pass
def test_b(invoke): pass
def test_c(lambda_client): pass
def test_d(lambda_container): pass
def test_plain(): pass
"""


def _error_blocks(outlines: list[str]) -> list[str]:
    """The ERRORS section's blocks, one per test, as text (the short summary left out)."""
    text = "\n".join(outlines)
    section = text.split("= ERRORS =", 1)[1].split("short test summary info", 1)[0]
    return re.split(r"_+ ERROR at \w+ of ", section)[1:]


FAILING_BUILD = "FROM python:3.11-slim\nRUN for i in $(seq 1 25); do echo log-line-$i; done; exit 3\n"
# The AWS base image's entrypoint takes exactly one argument, and exits 142 otherwise.
EXITS_AT_START = 'FROM public.ecr.aws/lambda/python:3.11\nCMD ["a.handler", "extra"]\n'
# The README's override: the same failed build comes back from the factory, raised as it is.
FACTORY_IN_A_FIXTURE = """
import pytest

@pytest.fixture(scope="session")
def lambda_container(lambda_container_factory):
    return lambda_container_factory(dockerfile="Dockerfile")
"""


@pytest.mark.parametrize(
    ("dockerfile", "conftest", "once", "kind", "first", "passed"),
    [
        (FAILING_BUILD, "", "log-line-7", "BuildFailed", "test_a", 1),
        (FAILING_BUILD, FACTORY_IN_A_FIXTURE, "log-line-7", "BuildFailed", "test_a", 1),
        (EXITS_AT_START, "", "entrypoint requires the handler name", "ContainerExited", "test_b", 2),
    ],
    ids=["failed-build", "failed-build-through-a-factory-fixture", "exits-at-start"],
)
def test_a_session_fixture_failure_is_shown_once_and_pointed_at_by_every_other_test(
    pytester, dockerfile, conftest, once, kind, first, passed
):
    pytester.makefile("", Dockerfile=dockerfile)
    if conftest:
        pytester.makeconftest(conftest)
    pytester.makepyfile(FOUR_TESTS)
    result = pytester.runpytest("-p", "no:randomly", "--lambda-port=0")
    result.assert_outcomes(passed=passed, errors=5 - passed)
    assert result.stdout.str().count(once) == 1
    told, *others = _error_blocks(result.outlines)
    assert told.startswith(first) and kind in told
    for block in others:
        assert re.search(rf"{ONE_LINE} \({kind}, at setup of \S+\.py::{first}\)", block), block
        assert len(block.strip().splitlines()) <= 3, block
    assert len(result.outlines) < 80, len(result.outlines)  # 159 for a failed build before: its log once per test


@pytest.mark.parametrize(
    ("dockerfile", "cause", "fix"),
    [
        (
            "Dockerfile.no-runtime-client",
            "/usr/local/bin/python: No module named awslambdaric",
            "pip install awslambdaric",
        ),
        (
            "Dockerfile.cmd-only",
            'exec: "probe.handler": executable file not found in $PATH',
            'ENTRYPOINT ["python", "-m", "awslambdaric"]',
        ),
        (
            "Dockerfile.bare-python",
            "python3: an interpreter with no program to run exits at once",
            'ENTRYPOINT ["python", "-m", "awslambdaric"]',
        ),
    ],
    ids=["no-awslambdaric", "cmd-only", "bare-python"],
)
def test_an_image_that_cannot_start_a_runtime_fails_setup_with_the_cause_first(pytester, dockerfile, cause, fix):
    shutil.copy(IMAGES / dockerfile, pytester.path / "Dockerfile")
    shutil.copy(IMAGES / "probe.py", pytester.path / "probe.py")
    pytester.makepyfile(FOUR_TESTS)
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:randomly", "--lambda-port=0")
    assert time.monotonic() - started < 60
    result.assert_outcomes(passed=2, errors=3)  # the image itself builds: test_a passes
    first, *others = _error_blocks(result.outlines)
    lines = first.strip().splitlines()
    assert lines[1].startswith(f"RuntimeUnavailable: {cause}"), first  # right after the test's name: the cause
    assert fix in first and 'CMD ["app.handler"]' in first
    assert all(ONE_LINE in block for block in others)
    # Not one invocation was made: no emulator log of a failed invoke, no empty-response error.
    result.stdout.no_fnmatch_line("*RequestId*")
    result.stdout.no_fnmatch_line("*empty response*")


TIMEOUT_AND_ERROR = """
import httpx
from pytest_lambda_container import LambdaTransport


def test_times_out(invoke):
    invoke("GET", "/sleep", {"seconds": "5"})  # the user's line


def test_the_container_dies(invoke, lambda_container):
    lambda_container.container.kill()
    invoke("GET", "/test1")  # the third user's line


def test_raises(lambda_container_factory):
    # Its own timeout: the cold start under the sandbox's CPU share takes longer than this file's 1 s limit.
    failing = lambda_container_factory(handler="app.failing_handler", timeout=60)
    client = httpx.Client(base_url="http://lambda", transport=LambdaTransport(failing))
    client.get("/anything")  # the other user's line
"""


def test_tracebacks_stop_at_the_users_line(pytester, lambda_image):
    pytester.makepyfile(TIMEOUT_AND_ERROR)
    result = pytester.runpytest(f"--lambda-image={lambda_image.id}", "--lambda-port=0", "--lambda-timeout=1")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            '>       invoke("GET", "/test1")  # the third user\'s line',
            "E       pytest_lambda_container.errors.ContainerExited: container plc-* died during an invocation*",
        ]
    )
    # Not "During handling of the above exception...": the connection error it replaced is not shown.
    result.stdout.no_fnmatch_line("*During handling*")
    result.stdout.fnmatch_lines(
        [
            '>       invoke("GET", "/sleep", {"seconds": "5"})  # the user\'s line',
            "E       pytest_lambda_container.errors.FunctionTimeout: the function timed out: Task timed out after*",
            "test_tracebacks_stop_at_the_users_line.py:6: FunctionTimeout",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            '>       client.get("/anything")  # the other user\'s line',
            "E       pytest_lambda_container.errors.FunctionError: ValueError: bad event: *",
            "E       Function stack trace (most recent call last):",
            '*File "/function/app.py", line *, in failing_handler',
            "test_tracebacks_stop_at_the_users_line.py:18: FunctionError",
        ]
    )
    result.stdout.no_fnmatch_line("*/pytest_lambda_container/*")
    result.stdout.no_fnmatch_line("*/httpx/*")


def test_the_function_trace_and_the_emulators_end_line_stay_apart(pytester, lambda_image):
    # The runtime writes a logged exception without a final newline: the emulator's END line used to follow on it.
    pytester.makepyfile(
        glue="""
import logging
def handler(event, context):
    try:
        1 / 0
    except ZeroDivisionError:
        logging.getLogger().exception("it broke")
    return {"ok": True}
"""
    )
    pytester.makefile("", Dockerfile=f"FROM {lambda_image.id}\nCOPY glue.py /function/\n")
    pytester.makepyfile(
        test_it="""
def test_logs(lambda_container_factory):
    fn = lambda_container_factory(handler="glue.handler")
    assert fn.invoke_event({}) == {"ok": True}
    lines = fn.logs().splitlines()
    assert "ZeroDivisionError: division by zero" in lines
    assert any(line.startswith("END RequestId: ") for line in lines)
    assert False, "show the log"
"""
    )
    result = pytester.runpytest("--lambda-port=0", "test_it.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Captured lambda container log plc-*", "ZeroDivisionError: division by zero"])
    result.stdout.no_fnmatch_line("*zeroEND RequestId*")


def test_progress_lines_never_join_pytests_progress_dots(pytester, lambda_image, docker_client):
    pytester.makepyfile(
        """
        def test_1(invoke): invoke("GET", "/test1")
        def test_2(): pass
        def test_3(lambda_container_factory): lambda_container_factory(env={"SECOND": "1"})
        def test_4(): pass
        """
    )
    result = pytester.runpytest("-q", f"--lambda-image={lambda_image.id}", "--lambda-port=0", "--lambda-keep")
    names = re.findall(r"keeping container (plc-\S+)", result.stdout.str())
    try:
        result.assert_outcomes(passed=4)
        assert len(names) == 2
        said = [line for line in result.outlines if "lambda-container:" in line]
        # Where the function is reached is in the report header (issue 18), which -q leaves out.
        assert len(said) == 2 and all(line.startswith("lambda-container: keeping container") for line in said), said
    finally:
        for name in names:
            docker_client.containers.get(name).remove(force=True)


def test_a_build_while_an_image_is_given_is_announced_and_other_functions_still_build(pytester, lambda_image):
    pytester.makefile("", Dockerfile=f"FROM {lambda_image.id}\nENV ROLE=default\n")
    (pytester.path / "worker").mkdir()
    (pytester.path / "worker" / "Dockerfile").write_text(f"FROM {lambda_image.id}\nENV ROLE=worker\n")
    pytester.makepyfile(
        f"""
        def test_the_default_function_is_the_given_image(lambda_container_factory, lambda_image):
            assert lambda_image.ref == {lambda_image.ref!r}
            assert lambda_container_factory(dockerfile="Dockerfile").image.ref == {lambda_image.ref!r}

        def test_another_function_still_builds(lambda_container_factory, lambda_session):
            worker = lambda_container_factory(dockerfile="worker/Dockerfile")
            assert worker.image.ref.startswith("pytest-lambda-container/")
            assert "ROLE=worker" in worker.container.attrs["Config"]["Env"]
        """
    )
    result = pytester.runpytest("-p", "no:randomly", f"--lambda-image={lambda_image.ref}", "--lambda-port=0")
    result.assert_outcomes(passed=2)
    announced = f"--lambda-image {lambda_image.ref} is the image under test, but a factory call builds"
    # On the terminal as it happens, and as a warning in the summary (where -W error can make it fail the run).
    result.stdout.fnmatch_lines([f"lambda-container: {announced} {pytester.path}/worker/Dockerfile*"])
    result.stdout.fnmatch_lines(["*warnings summary*", "*LambdaContainerWarning: " + announced + "*"])
    assert result.stdout.str().count(announced) == 2


PROBE = """
import json, os
import pytest


@pytest.fixture(autouse=True)
def _record_what_the_test_ran_against(request):
    if "lambda_container" in request.fixturenames:
        container = request.getfixturevalue("lambda_container")
        session = request.getfixturevalue("lambda_session")
        with open(os.environ["PLC_PROBE_OUT"], "a") as out:
            record = {
                "test": request.node.nodeid,
                "image": container.image.ref,
                "marker": container.container.attrs["Config"]["Labels"].get("plc.shipped-marker"),
                "builds": session.builds,
            }
            out.write(json.dumps(record) + "\\n")
"""


def _workflow_step(marker: str) -> str:
    """The `run:` line of the workflow step that holds `marker`."""
    for line in WORKFLOW.read_text().splitlines():
        if marker in line and line.strip().startswith("run:"):
            return line.split("run:", 1)[1].strip()
    raise AssertionError(f"no step of {WORKFLOW} runs {marker!r}")


def test_the_shipped_workflow_tests_the_image_it_pushes(tmp_path, docker_client):
    # The workflow's own build step, through the docker SDK, plus a label that no Dockerfile of the app has.
    build = shlex.split(_workflow_step("docker build"))
    assert build[:3] == ["docker", "build", "-t"] and build[3] == "$IMAGE:$GITHUB_SHA", build
    repository, sha, marker = "plc-test/example-fn", uuid.uuid4().hex[:12], uuid.uuid4().hex
    tag = f"{repository}:{sha}"
    docker_client.images.build(
        path=str(ROOT / build[4]), tag=tag, labels={"plc.shipped-marker": marker}, network_mode="host", rm=True
    )
    (tmp_path / "plc_probe.py").write_text(PROBE)
    out = tmp_path / "probe.jsonl"
    env = {
        **os.environ,
        "IMAGE": repository,
        "GITHUB_SHA": sha,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(tmp_path),
        "PYTEST_ADDOPTS": "-p plc_probe",
        "PLC_PROBE_OUT": str(out),
    }
    try:
        # The workflow's test step, word for word.
        run = subprocess.run(
            ["bash", "-c", _workflow_step("--lambda-image")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert records, run.stdout
        assert {(r["image"], r["marker"], r["builds"]) for r in records} == {(tag, marker, 0)}
        assert len({r["test"] for r in records}) == len(records)  # each test once: no per-Dockerfile copies
        assert not [r["test"] for r in records if "[Dockerfile" in r["test"]]
        assert "build step" not in run.stdout and "is up to date" not in run.stdout
    finally:
        docker_client.images.remove(tag, force=True)


BROKEN_HANDLERS = [
    ("aws-handler-typo", "probe.py", ("Runtime.HandlerNotFound: Handler 'handlr' missing on module 'probe'",), None),
    (
        "aws-import-typo",
        "broken_import.py",
        ("Runtime.ImportModuleError: Unable to import module 'broken_import'", "cannot import name 'dumsp'"),
        'File "/var/task/broken_import.py", line 4, in <module>',
    ),
    (
        "custom-handler-typo",
        "probe.py",
        ("Runtime.HandlerNotFound: Handler 'handlr' missing on module 'probe'",),
        None,
    ),
    (
        "custom-import-typo",
        "broken_import.py",
        ("Runtime.ImportModuleError: Unable to import module 'broken_import'", "cannot import name 'dumsp'"),
        'File "/function/broken_import.py", line 4, in <module>',
    ),
]


@pytest.mark.parametrize("target", ["container", "inprocess"])
@pytest.mark.parametrize(("image", "module", "cause", "frame"), BROKEN_HANDLERS, ids=[b[0] for b in BROKEN_HANDLERS])
def test_a_handler_that_cannot_load_fails_once_on_every_image_style_and_target(
    pytester, lambda_image, target, image, module, cause, frame
):
    # Issue 21, items 2 and 10: `Dockerfile.aws` with `CMD ["app.handlr"]` or an import typo gave 4 FAILED, each
    # repeating the error and the log; the import error's trace showed the check's script and importlib's frames.
    shutil.copy(IMAGES / f"Dockerfile.{image}", pytester.path / "Dockerfile")
    shutil.copy(IMAGES / module, pytester.path / module)
    pytester.makepyfile(FOUR_TESTS)
    args = ["-p", "no:randomly", "--lambda-port=0", f"--lambda-target={target}"]
    if image.startswith("custom"):
        args.append(f"--lambda-build-arg=BASE={lambda_image.id}")
    result = pytester.runpytest(*args)
    # In-process nothing is built: the test of lambda_image (the container target's) is skipped.
    skipped = 1 if target == "inprocess" else 0
    result.assert_outcomes(passed=2 - skipped, skipped=skipped, errors=3)
    first, *others = _error_blocks(result.outlines)
    assert f"HandlerImportError: {cause[0]}" in first and cause[-1] in first, first
    assert all(re.search(rf"{ONE_LINE} \(HandlerImportError, at setup of \S+\)", block) for block in others), others
    text = result.stdout.str()
    assert text.count(cause[0]) == 1
    if frame is not None and target == "container":
        assert frame in first
    if frame is not None:
        assert first.count("Function stack trace (most recent call last):") == 1
        assert 'File "<string>"' not in text and "<frozen" not in text and "importlib" not in text, first
        assert "Traceback (most recent call last)" not in text, first
    assert len(result.outlines) < 60, text
