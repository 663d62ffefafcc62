"""The function target for real, with no AWS account: boto3's Lambda client pointed at a running container's emulator
(which serves the Invoke API's path) with dummy credentials, sending the same events the container gets."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.container.protocol import function_target_command
from pytest_lambda_container.deployed.invoke_api import DeployedFunction
from pytest_lambda_container.errors import FunctionError, FunctionTimeout, LambdaContainerError
from pytest_lambda_container.fronts.events import EventOptions, HttpRequest, get_format, sqs_event
from pytest_lambda_container.fronts.transport import LambdaTransport

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch, tmp_path):
    """What a CI job would have, without an account: keys in the environment, nothing of the host's AWS files."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFORTESTS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "fake")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def deployed(running, *, timeout: float = 300.0) -> DeployedFunction:
    """The function target's function, at the emulator of `running` (its function is called `function`)."""
    settings = Settings(
        rootdir=Path("."), target="function", function="function", endpoint_url=running.url, timeout=timeout
    )
    return DeployedFunction.from_settings(settings)


def rest_event(method: str, path: str, query: str = "") -> dict:
    return get_format("rest").build(HttpRequest(method, path, query), EventOptions())


def test_an_api_gateway_event_through_the_invoke_api_answers_as_the_container_does(lambda_container_factory):
    running = lambda_container_factory()
    fn = deployed(running)
    try:
        event = rest_event("GET", "/test1")
        result = fn.invoke_event(event)
        assert result["statusCode"] == 200
        assert json.loads(result["body"]) == {"message": "test"}
        direct = running.invoke_event(event)
        assert (direct["statusCode"], direct["body"]) == (result["statusCode"], result["body"])
    finally:
        fn.close()


def test_an_httpx_client_over_the_invoke_api(lambda_container_factory):
    fn = deployed(lambda_container_factory())
    with httpx.Client(base_url="http://lambda", transport=LambdaTransport(fn)) as client:
        assert client.get("/test1").json() == {"message": "test"}
        assert client.post("/test3", params={"message": "hoge"}).json() == {"message": "hoge"}
        assert client.get("/items/404").status_code == 404
    fn.close()


def test_raw_trigger_events_travel_as_they_are(lambda_container_factory):
    fn = deployed(lambda_container_factory(handler="app.raw_handler"))
    result = fn.invoke_event(sqs_event(["first", "second"]))
    assert result["records"] == 2 and result["bodies"] == ["first", "second"]
    fn.close()


def test_a_handlers_error_is_the_containers_function_error(lambda_container_factory):
    fn = deployed(lambda_container_factory(handler="app.failing_handler", timeout=60))
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"a": 1})
    assert info.value.error_type == "ValueError"
    assert info.value.error_message == "bad event: ['a']"
    fn.close()


def test_a_timeout_is_function_timeout_and_the_client_waits_for_it_without_retrying(lambda_container_factory):
    running = lambda_container_factory(timeout=3)
    fn = deployed(running, timeout=3)
    sleep = rest_event("GET", "/sleep", "seconds=0")
    assert fn.invoke_event(sleep)["statusCode"] == 200  # loaded first: the timing below is the call's
    started = time.monotonic()
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 3\.00 seconds"):
        fn.invoke_event(rest_event("GET", "/sleep", "seconds=30"))
    assert 3 <= time.monotonic() - started < 10
    assert fn.invoke_event(sleep)["statusCode"] == 200
    fn.close()


def test_nothing_at_the_endpoint_is_one_line_naming_the_option():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        rootdir=Path("."), target="function", function="function", endpoint_url=f"http://127.0.0.1:{port}"
    )
    fn = DeployedFunction.from_settings(settings)
    with pytest.raises(LambdaContainerError, match=r"--lambda-endpoint-url") as info:
        fn.invoke_event({})
    assert "\n" not in str(info.value)
    fn.close()


def test_at_the_emulators_invoke_url_the_function_target_needs_no_name_nor_credentials(
    pytester, lambda_container, monkeypatch
):
    # Issue 21, item 7: against aws-lambda-rie it needed --lambda-function function, dummy credentials and a port no
    # command printed. Now the command `--lambda-keep` and `serve` print is all it takes.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)  # none at all: requests go unsigned
    pytester.makepyfile(
        """
        def test_through_the_invoke_api(invoke, lambda_settings):
            assert lambda_settings.function == "function"
            assert invoke("GET", "/test1").json() == {"message": "test"}
        """
    )
    command = function_target_command(lambda_container.url).split()
    assert command[:3] == ["pytest", "--lambda-target", "function"]
    result = pytester.runpytest(*command[1:])
    result.assert_outcomes(passed=1)
    # A Lambda endpoint of another kind (LocalStack, AWS) still needs the function's real name.
    other = pytester.runpytest("--lambda-target", "function", "--lambda-endpoint-url", lambda_container.url)
    assert other.ret == pytest.ExitCode.USAGE_ERROR
    other.stderr.fnmatch_lines(["*the function target needs the function*2015-03-31/functions/function/invocations*"])
