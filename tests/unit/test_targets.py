"""Targets as the plugin wires them: the url target builds and starts nothing and needs no engine; what a target
cannot do is a skip with the reason; the `lambda_targets` marker. A local HTTP server stands in for the deployed
endpoint (real HTTP on the loopback), and DOCKER_HOST points nowhere, so any engine call would fail the run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received, as JSON."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = json.dumps({"method": self.command, "path": self.path, "body": body}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/prod"
    finally:
        server.shutdown()
        server.server_close()


URL_TESTS = """
import pytest

def test_invoke(invoke):
    r = invoke("POST", "/items", {"q": "1"}, json={"a": 1})
    assert r.status_code == 200
    assert r.json() == {"method": "POST", "path": "/prod/items?q=1", "body": '{"a":1}'}

def test_client(lambda_client):
    assert lambda_client.get("/x").json()["path"] == "/prod/x"

def test_event_option(invoke):
    invoke("GET", "/x", request_context={"authorizer": {"claims": {"sub": "u1"}}})

def test_raw_event(lambda_container):
    lambda_container.invoke_event({"a": 1})

def test_image(lambda_image):
    pass

def test_another_function(lambda_container_factory):
    lambda_container_factory(handler="app.other")
"""


def test_the_url_target_reaches_the_endpoint_over_http_and_skips_what_it_cannot_do(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")  # any engine call would fail the test
    pytester.makepyfile(URL_TESTS)
    result = pytester.runpytest("-rs", "--lambda-target", "url", "--lambda-url", endpoint, "-p", "no:randomly")
    result.assert_outcomes(passed=2, skipped=4)
    result.stdout.fnmatch_lines(
        [
            f"lambda-container: target url {endpoint}: real HTTP, nothing built or started",
            "*:11: this request sets request_context= of the event, which cannot travel over HTTP*",
            "*:14: invoke_event sends a raw event*the target is url",
            "*:17: this needs Docker*the target is url",
            "*:20: the url target reaches the one deployed function; this asks for another (handler='app.other')*",
        ]
    )


BROAD_EXCEPTS = """
import pytest

def test_raises_exception(lambda_container):
    with pytest.raises(Exception):
        lambda_container.invoke_event({"a": 1})

def test_except_exception(lambda_container):
    try:
        lambda_container.logs()
    except Exception:
        pytest.fail("the skip was swallowed")

def test_as_plain_python(lambda_container):
    from pytest_lambda_container import LambdaContainerError, NotOnTarget, errors

    errors.raise_under_pytest(None)
    try:
        with pytest.raises(NotOnTarget) as info:
            lambda_container.invoke_event({"a": 1})
    finally:
        errors.raise_under_pytest(__import__("pytest_lambda_container.skipping").skipping.NotOnTargetSkip)
    assert isinstance(info.value, LambdaContainerError) and info.value.target == "url"
"""


def test_what_the_target_cannot_do_escapes_except_exception_as_pytests_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """pytest's skip derives from BaseException so that `except Exception` cannot swallow it (pytest's outcomes.py);
    NotOnTarget under pytest is one; in plain Python it stays a LambdaContainerError."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    pytester.makepyfile(BROAD_EXCEPTS)
    result = pytester.runpytest("-rs", "--lambda-target", "url", "--lambda-url", endpoint, "-p", "no:randomly")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        ["*:3: invoke_event sends a raw event*the target is url", "*:7: logs() needs a container*"]
    )


def test_the_url_comes_from_the_environment_too(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.setenv("PYTEST_LAMBDA_URL", endpoint)
    pytester.makepyfile("def test_x(invoke):\n    assert invoke('GET', '/a').json()['path'] == '/prod/a'\n")
    result = pytester.runpytest("--lambda-target", "url")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lambda-target", "url"], "the url target needs the endpoint: give --lambda-url URL*"),
        (["--lambda-target", "function"], "the function target needs the function: give --lambda-function*"),
        (["--lambda-target", "cloud"], "*unknown target 'cloud'; choose one of container, inprocess, url, function"),
        (["--lambda-target", "url", "--lambda-url", "ftp://x"], "*'ftp://x' is not an http(s) URL*"),
        (
            ["--lambda-event-format", "http", "--lambda-integration-timeout", "40"],
            "*integration timeout 40s is over what the http front allows (30s*",
        ),
    ],
)
def test_a_target_without_what_it_needs_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.delenv("PYTEST_LAMBDA_URL", raising=False)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}"])


MARKED = """
import pytest

@pytest.mark.lambda_targets("container", "inprocess")
def test_local_only():
    pass

@pytest.mark.lambda_targets("url")
def test_deployed_only():
    pass
"""


def test_the_marker_runs_a_test_on_its_targets_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    pytester.makepyfile(MARKED)
    result = pytester.runpytest("-rs", "--strict-markers", "--lambda-target", "url", "--lambda-url", endpoint)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*runs on the container, inprocess target(s); this run's target is url"])
    result = pytester.runpytest("-rs", "--strict-markers")  # container, the default
    result.assert_outcomes(passed=1, skipped=1)


def test_the_marker_refuses_unknown_targets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n@pytest.mark.lambda_targets('cloud')\ndef test_x(): pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*lambda_targets('cloud',) names no target or unknown ones (cloud)*"])
    assert result.ret != 0
