"""The plugin's wiring, through real pytest runs (pytester): flags and ini keys reach the settings, errors become
usage errors or one clear test error, fixtures keep no state between tests. No Docker needed; resolution itself
is unit-tested in test_settings.py."""

from __future__ import annotations

import time

import pytest

from pytest_lambda_container.config.options import OPTIONS

SHOW_SETTINGS = """
    def test_show(lambda_settings):
        s = lambda_settings
        print("PORT", s.port, "ENV", dict(s.env), "ARGS", dict(s.build_args), "DOCKERFILE", s.dockerfile_path,
              "CONTEXT", s.context_path, "HANDLER", s.handler, "FORMAT", s.event_format, "TIMEOUT", s.timeout,
              "NETWORK", s.build_network, "IMAGE", s.image)
"""


def test_help_lists_every_flag_and_ini_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for opt in OPTIONS:
        result.stdout.fnmatch_lines([f"*{opt.flag}*"])
        result.stdout.fnmatch_lines([f"*{opt.ini} *"])


def test_ini_values_are_read_and_paths_are_relative_to_the_rootdir(pytester: pytest.Pytester) -> None:
    (pytester.path / "fn").mkdir()
    (pytester.path / "fn" / "Dockerfile.lambda").write_text("FROM scratch\n")
    pytester.makeini(
        """
        [pytest]
        lambda_dockerfile = fn/Dockerfile.lambda
        lambda_port = 9100
        lambda_env =
            A=1
            B=two words
        lambda_build_args =
            PY=3.11
        lambda_build_network = host
        lambda_handler = app.other
        lambda_event_format = http
        lambda_timeout = 7
        """
    )
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    root = pytester.path
    result.stdout.fnmatch_lines(
        [
            f"*PORT 9100 ENV {{'A': '1', 'B': 'two words'}} ARGS {{'PY': '3.11'}} "
            f"DOCKERFILE {root}/fn/Dockerfile.lambda "
            f"CONTEXT {root}/fn HANDLER app.other FORMAT http TIMEOUT 7.0 NETWORK host IMAGE None"
        ]
    )


def test_build_args_ini_key_takes_either_spelling(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nlambda_build_arg =\n    PY=3.12\n")
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("-s", "-W", "error::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*ARGS {'PY': '3.12'}*"])


def test_cli_wins_over_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        lambda_port = 9100
        lambda_env = A=from-ini
        lambda_image = from-ini:1
        """
    )
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest(
        "-s", "--lambda-port", "0", "--lambda-env", "A=cli", "--lambda-env", "C=3", "--lambda-image", "cli:2"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*PORT 0 ENV {'A': 'cli', 'C': '3'} *IMAGE cli:2"])


@pytest.mark.parametrize(
    ("args", "ini", "expected"),
    [
        (["--lambda-port", "abc"], "", "*option --lambda-port: port 'abc' is not a number*"),
        ([], "lambda_keep = maybe", "*ini key lambda_keep: 'maybe' is not true or false*"),
    ],
    ids=["cli", "ini"],
)
def test_configuration_errors_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], ini: str, expected: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-lambda-container: " + expected.lstrip("*")])


def test_a_project_without_dockerfile_runs_its_other_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_plain():
            assert True

        def test_needs_the_function(lambda_image):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ConfigError: no Dockerfile at */Dockerfile*--lambda-dockerfile*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_unreachable_engine_fails_fast_naming_docker_host(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    pytester.makefile("", Dockerfile="FROM scratch\n")
    pytester.makepyfile("def test_fn(lambda_container): pass")
    started = time.monotonic()
    result = pytester.runpytest()
    assert time.monotonic() - started < 20
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*EngineUnavailable: no Docker engine answers at unix:///nonexistent/docker.sock (from DOCKER_HOST)*"]
    )


def test_skip_no_docker_skips_with_the_reason(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    pytester.makefile("", Dockerfile="FROM scratch\n")
    pytester.makeini("[pytest]\nlambda_skip_no_docker = true\n")
    pytester.makepyfile("def test_fn(invoke): pass\n\ndef test_plain(): pass")
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*no Docker engine: no Docker engine answers at tcp://127.0.0.1:1*"])


def test_report_header_shows_the_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--lambda-image", "fn:1", "--lambda-port", "0")
    result.stdout.fnmatch_lines(["lambda-container: target container, image fn:1, port any, events rest, timeout 300s"])


COOKIE_CONFTEST = """
import json
import pytest
from pytest_lambda_container.inprocess.function import InProcessFunction


def handler(event, context):
    if event["path"] == "/login":
        return {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["session=s3cret; Path=/"]}, "body": ""}
    headers = {name.lower(): values for name, values in (event.get("multiValueHeaders") or {}).items()}
    cookies = headers.get("cookie", [])
    return {"statusCode": 200, "body": json.dumps(cookies)}


@pytest.fixture(scope="session")
def lambda_container():
    return InProcessFunction(handler)  # stands in for the container: the client is the plugin's own
"""


def test_no_test_sees_the_cookies_of_another(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COOKIE_CONFTEST)
    pytester.makepyfile(
        """
        def test_a_logs_in(lambda_client, invoke):
            lambda_client.get("/login")
            # Within one test the jar works, for the client and for invoke alike.
            assert lambda_client.get("/me").json() == ["session=s3cret"]
            assert invoke("GET", "/me").json() == ["session=s3cret"]

        def test_b_starts_with_an_empty_jar(lambda_client, invoke):
            assert lambda_client.get("/me").json() == []
            assert invoke("GET", "/me").json() == []
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_an_env_file_is_under_ini_lambda_env_which_is_under_the_flag(pytester: pytest.Pytester) -> None:
    """`--lambda-env-file` (ini lambda_env_file): KEY=VALUE lines by python-dotenv's rules, as AWS SAM CLI reads a .env
    for a function (aws-sam-cli PR 8746); --lambda-env over ini lambda_env over the file, key by key."""
    (pytester.path / "fn.env").write_text(
        '# the function\nexport A=from-file\nB="quoted value"\nC=${HOME}\nD=from-file\nE=\n'
    )
    pytester.makeini("[pytest]\nlambda_env_file = fn.env\nlambda_env =\n    B=from-ini\n    D=from-ini\n")
    pytester.makepyfile(SHOW_SETTINGS)
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*ENV {'A': 'from-file', 'B': 'from-ini', 'C': '${HOME}', 'D': 'from-ini', 'E': ''} *"]
    )
    result = pytester.runpytest("-s", "--lambda-env", "D=cli")
    result.stdout.fnmatch_lines(["*ENV {'A': 'from-file', 'B': 'quoted value', 'C': '${HOME}', 'D': 'cli', 'E': ''} *"])


@pytest.mark.parametrize(
    ("args", "ini", "expected"),
    [
        (["--lambda-env-file", "missing.env"], "", "option --lambda-env-file: no such file */missing.env*"),
        ([], "lambda_env_file = missing.env", "ini key lambda_env_file: no such file */missing.env*"),
        (["--lambda-env-file", "bare.env"], "", "option --lambda-env-file: */bare.env names BARE without a value*"),
    ],
    ids=["cli", "ini", "bare-key"],
)
def test_a_missing_env_file_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, args: list[str], ini: str, expected: str
) -> None:
    (pytester.path / "bare.env").write_text("A=1\nBARE\n")
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-lambda-container: " + expected])
