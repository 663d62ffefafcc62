"""What a user reads when something fails, through real pytest runs (pytester), without Docker: a session-fixture
failure shown once, tracebacks that stop at the user's code, progress lines on lines of their own."""

from __future__ import annotations

import socket

import pytest

ONE_LINE = "lambda container unavailable: see the first error above"

THREE_NEED_THE_CONTAINER = """
def test_a(lambda_image): pass
def test_b(invoke): pass
def test_c(lambda_container): pass
def test_plain(): pass
"""


def _blocks(pytester_result: pytest.RunResult) -> list[str]:
    """Each failed test's block of the ERRORS section (the short summary left out)."""
    text = pytester_result.stdout.str()
    section = text.split("= ERRORS =", 1)[1].split("short test summary info", 1)[0]
    return section.split(" ERROR at setup of ")[1:]


@pytest.mark.parametrize(
    ("setup", "first_error"),
    [
        (lambda p, mp: None, "ConfigError: no Dockerfile at "),
        (
            lambda p, mp: (mp.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock"), p.makefile("", Dockerfile="")),
            "EngineUnavailable: no Docker engine answers at unix:///nowhere/docker.sock",
        ),
    ],
    ids=["no-dockerfile", "no-engine"],
)
def test_a_session_fixture_failure_is_shown_once_then_pointed_at(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, setup, first_error
) -> None:
    setup(pytester, monkeypatch)
    pytester.makepyfile(THREE_NEED_THE_CONTAINER)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=3)
    first, *others = _blocks(result)
    assert first.startswith("test_a ") and first_error in first
    kind = first_error.split(":")[0]
    nodeid = "test_a_session_fixture_failure_is_shown_once_then_pointed_at.py::test_a"
    assert [block.split(" ", 1)[0] for block in others] == ["test_b", "test_c"]
    for block in others:
        assert block.split("\n")[1] == f"{ONE_LINE} ({kind}, at setup of {nodeid})"
        assert first_error not in block


def test_skip_no_docker_still_skips_every_test_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    pytester.makefile("", Dockerfile="")
    pytester.makepyfile(THREE_NEED_THE_CONTAINER)
    result = pytester.runpytest("-rs", "--lambda-skip-no-docker")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.no_fnmatch_line(f"*{ONE_LINE}*")


FAKE_FUNCTIONS = """
import json

import socket

import pytest
from pytest_lambda_container.container.outcome import decode_answer


class Answers:
    # Stands in for the container: the emulator's answer is decoded by the plugin's own code, as for a real one.
    def __init__(self, text):
        self.text = text

    def invoke_event(self, event):
        return decode_answer(200, self.text, {}, timeout=1)


@pytest.fixture(scope="session", params=["timeout", "error"])
def lambda_container(request):
    if request.param == "timeout":
        return Answers("Task timed out after 1.00 seconds")
    stack = ['  File "/var/task/app.py", line 9, in handler\\n']
    return Answers(json.dumps({"errorType": "KeyError", "errorMessage": "'id'", "stackTrace": stack}))
"""


def test_tracebacks_stop_at_the_users_code(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(FAKE_FUNCTIONS)
    pytester.makepyfile(
        """
        def test_call(invoke):
            invoke("GET", "/items/1")  # the user's line
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            '>       invoke("GET", "/items/1")  # the user\'s line',
            "*FunctionTimeout: the function timed out: Task timed out after 1.00 seconds*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            '>       invoke("GET", "/items/1")  # the user\'s line',
            "*FunctionError: KeyError: 'id'",
            "E       Function stack trace (most recent call last):",
            '*File "/var/task/app.py", line 9, in handler',
        ]
    )
    result.stdout.no_fnmatch_line("*/pytest_lambda_container/*")
    result.stdout.no_fnmatch_line("*/httpx/*")


def test_progress_lines_start_a_line_of_their_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_1(): pass
        def test_2(lambda_session):
            lambda_session.log("mid-run news")  # what a build or a keep says, between pytest's dots
        def test_3(): pass
        """
    )
    for args in ([], ["-q"], ["-v"]):
        result = pytester.runpytest("-p", "no:randomly", *args)
        result.assert_outcomes(passed=3)
        said = [line for line in result.outlines if "mid-run news" in line]
        assert said == ["lambda-container: mid-run news"], (args, said)


def test_a_build_at_the_first_test_leaves_one_progress_line_per_file(pytester: pytest.Pytester) -> None:
    # Issue 21, item 11: the file's name stood alone above the build's lines, and the first letter alone under them
    # (`tests/test_app.py ` / build / `E` / `tests/test_app.py EEE`).
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def built(lambda_session):
            for step in ("building", "build step 1/2", "built"):  # as a build speaks, during the setup
                lambda_session.log(step)
        """
    )
    pytester.makepyfile(
        test_app="def test_1(built): pass\ndef test_2(built): pass\ndef test_3(): pass\n",
        test_other="def test_4(): pass\ndef test_5(): pass\n",
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=5)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if line.startswith("collected "))
    progress = lines[start + 1 : lines.index("", start + 2)]
    assert [line.split("  ")[0].rstrip() for line in progress] == [
        "",
        "lambda-container: building",
        "lambda-container: build step 1/2",
        "lambda-container: built",
        "test_app.py ...",
        "test_other.py ..",
    ], lines


BROKEN_HANDLER = """
import json

import socket

import pytest
from pytest_lambda_container.container.outcome import decode_answer

# As aws-lambda-rie answers each call when the handler's module does not import: a new error object every time.
IMPORT_ERROR = json.dumps(
    {"errorType": "Runtime.ImportModuleError", "errorMessage": "Unable to import module 'app': No module named 'x'"}
)


class Broken:
    def invoke_event(self, event):
        return decode_answer(200, IMPORT_ERROR, {}, timeout=1)


@pytest.fixture(scope="session")
def lambda_container():
    return Broken()
"""


def test_a_handler_that_cannot_load_is_told_once_however_many_calls_fail(pytester: pytest.Pytester) -> None:
    # Issue 21, item 2: on a target that finds it only at the first call (a deployed function, an emulator's
    # endpoint), every test used to repeat the same import error in full.
    pytester.makeconftest(BROKEN_HANDLER)
    pytester.makepyfile(
        """
        def test_1(invoke): invoke("GET", "/a")
        def test_2(invoke): invoke("GET", "/b")
        def test_3(lambda_client): lambda_client.get("/c")
        def test_plain(): pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=3, passed=1)
    assert result.stdout.str().count("No module named 'x'") == 1
    nodeid = "test_a_handler_that_cannot_load_is_told_once_however_many_calls_fail.py::test_1"
    result.stdout.fnmatch_lines(["*_ test_2 _*", f"{ONE_LINE} (HandlerImportError, at call of {nodeid})"])
    result.stdout.fnmatch_lines(["*_ test_3 _*", f"{ONE_LINE} (HandlerImportError, at call of {nodeid})"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("target", ["url", "function"])
def test_an_address_where_nothing_answers_is_one_short_line_told_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    # Issue 21, item 6: an unreachable --lambda-url printed four httpx/httpcore tracebacks (449 lines), and an
    # unreachable endpoint its (clear) error four times.
    if target == "function":
        pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    address = f"http://127.0.0.1:{_closed_port()}"
    args = (
        ["--lambda-url", f"{address}/prod"]
        if target == "url"
        else ["--lambda-function", "fn", "--lambda-endpoint-url", address]
    )
    pytester.makepyfile(
        """
        def test_1(invoke): invoke("GET", "/a")  # the user's line
        def test_2(invoke): invoke("GET", "/b")
        def test_3(lambda_client): lambda_client.get("/c")
        """
    )
    result = pytester.runpytest("-p", "no:randomly", f"--lambda-target={target}", *args)
    result.assert_outcomes(failed=3)
    text = result.stdout.str()
    result.stdout.fnmatch_lines(
        ['>   def test_1(invoke): invoke("GET", "/a")  # the user\'s line', "E   *Unreachable: nothing answers *"]
    )
    assert text.count("nothing answers") == 1 and address in text
    assert ("serve` running there" if target == "url" else "is the emulator running there") in text
    assert "/httpx/" not in text and "/httpcore/" not in text and "botocore/" not in text and "Traceback" not in text
    assert len(result.outlines) < 40, text


def test_lines_of_ours_between_tests_stay_together_and_each_letter_follows_its_files_name(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_c="""
        import pytest

        @pytest.fixture
        def noisy(lambda_session):
            lambda_session.log("setup says")
            yield
            lambda_session.log("teardown says")

        def test_1(noisy): pass
        def test_2(noisy): pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    start = next(i for i, line in enumerate(result.outlines) if line.startswith("collected "))
    progress = [line.split("  ")[0].rstrip() for line in result.outlines[start + 1 : start + 9]]
    assert progress == [
        "",
        "lambda-container: setup says",
        "test_c.py .",
        "lambda-container: teardown says",
        "lambda-container: setup says",
        "test_c.py .",
        "lambda-container: teardown says",
        "",
    ], result.outlines
