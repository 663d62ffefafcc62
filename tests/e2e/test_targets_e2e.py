"""One suite, every target: the example app's own tests, unchanged, in-process with no engine at all, and against a
"deployed" function reached through Lambda's Invoke API — the emulator of a running container serves that API's path,
so boto3 pointed at it with --lambda-endpoint-url is the function target for real, with dummy credentials."""

from __future__ import annotations

import pytest

from .conftest import run_example_suite

pytestmark = pytest.mark.docker


def test_the_example_suite_passes_in_process_with_no_engine() -> None:
    result = run_example_suite("--lambda-target", "inprocess", env={"DOCKER_HOST": "unix:///nowhere/docker.sock"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "lambda-container: target inprocess (no Docker)" in output
    assert " failed" not in output and "skipped" not in output and " error" not in output, output


def test_the_example_suite_passes_against_the_function_target(lambda_container_factory) -> None:
    running = lambda_container_factory()  # the "deployed" function: its emulator serves the Invoke API
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFORTESTS",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "AWS_SESSION_TOKEN": "fake",
        "DOCKER_HOST": "unix:///nowhere/docker.sock",  # the function target needs no engine
    }
    result = run_example_suite(
        "--lambda-target", "function", "--lambda-function", "function", "--lambda-endpoint-url", running.url, env=env
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"lambda-container: target function function at {running.url}" in output
    assert " failed" not in output and " error" not in output, output
    # Only the tests that ask for another handler of the image are skipped, each with the reason.
    assert output.count("reaches the one deployed function; this asks for another (handler=") == 2, output
