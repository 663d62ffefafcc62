"""The deployed targets without AWS: SigV4 signing against botocore's own signer and AWS's test suite at a fixed clock
and credentials; the Invoke API's answers through botocore's Stubber (the real client, its HTTP send stubbed)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import io
import json
import sys
import threading
from pathlib import Path

import botocore.auth
import botocore.exceptions
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.response import StreamingBody
from botocore.stub import Stubber

from pytest_lambda_container.config.defaults import DEPLOYED_MARGIN
from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.deployed import invoke_api as remote
from pytest_lambda_container.deployed.sigv4 import SigV4
from pytest_lambda_container.errors import (
    ConfigError,
    FunctionError,
    FunctionOutOfMemory,
    FunctionTimeout,
    HandlerImportError,
    InvocationError,
    LambdaContainerError,
    PayloadTooLarge,
)
from pytest_lambda_container.fronts import events

NOW = datetime.datetime(2015, 8, 30, 12, 36, 0)
#: The credentials of AWS's Signature Version 4 test suite.
SUITE_CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
CREDENTIALS = Credentials("AKIAFAKEFORTESTS", "fake-secret", "fake-token")
FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws"
STAGE_URL = "https://a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com/prod"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, tmp_path):
    """Dummy credentials from the environment, and nothing else of the host's AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", CREDENTIALS.token)


@pytest.fixture
def no_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)


@pytest.fixture
def fixed_clock(monkeypatch):
    """botocore's signer reads the time through botocore.compat.get_current_datetime, imported into botocore.auth."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: NOW)


def settings(**fields) -> Settings:
    return Settings(rootdir=Path("."), **fields)


def sent(auth: httpx.Auth, method: str, url: str, **kwargs) -> httpx.Request:
    """The request as it leaves the client, signed."""
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer), auth=auth) as client:
        client.request(method, url, **kwargs)
    return requests[0]


def botocore_signature(credentials, service, region, method, url, headers, body=b"") -> dict[str, str]:
    """What botocore's own signer makes of the same request."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    botocore.auth.SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


# -- SigV4 ----------------------------------------------------------------------------------------------------------


def test_signature_matches_aws_test_suite_get_vanilla(fixed_clock):
    request = sent(SigV4(SUITE_CREDENTIALS, "service", "us-east-1"), "GET", "https://example.amazonaws.com/")
    assert request.headers["X-Amz-Date"] == "20150830T123600Z"
    assert request.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_function_url_post_is_signed_as_botocore_signs_it_body_hash_included(fixed_clock):
    auth = remote.url_auth(settings(target="url", url=FUNCTION_URL, url_auth="iam"))
    body = json.dumps({"message": "hoge"}).encode()
    request = sent(auth, "POST", f"{FUNCTION_URL}/test3?b=2&a=1", content=body, headers={"content-type": "x/json"})

    digest = hashlib.sha256(body).hexdigest()
    expected = botocore_signature(
        CREDENTIALS,
        "lambda",
        "eu-west-1",
        "POST",
        f"{FUNCTION_URL}/test3?b=2&a=1",
        {"host": httpx.URL(FUNCTION_URL).host, "content-type": "x/json", "X-Amz-Content-SHA256": digest},
        body,
    )
    assert request.headers["X-Amz-Content-SHA256"] == digest
    assert request.headers["Authorization"] == expected["Authorization"]
    assert "/20150830/eu-west-1/lambda/aws4_request" in request.headers["Authorization"]
    assert (
        "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
        in (request.headers["Authorization"])
    )
    assert request.headers["X-Amz-Security-Token"] == "fake-token"
    assert request.read() == body  # signed, and still sent


def test_api_gateway_request_is_signed_for_execute_api_in_its_hosts_region(fixed_clock):
    auth = remote.url_auth(settings(target="url", url=STAGE_URL, url_auth="iam", region="us-west-2"))
    request = sent(auth, "GET", f"{STAGE_URL}/test1", params={"q": "a b"})
    expected = botocore_signature(
        CREDENTIALS,
        "execute-api",
        "ap-northeast-1",
        "GET",
        str(request.url),
        {"host": httpx.URL(STAGE_URL).host},
    )
    assert request.headers["Authorization"] == expected["Authorization"]
    assert "/ap-northeast-1/execute-api/aws4_request" in request.headers["Authorization"]
    # httpx's own headers (accept-encoding, connection, user-agent) may be rewritten on the way: never signed.
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in request.headers["Authorization"]


def test_url_auth_none_signs_nothing():
    assert remote.url_auth(settings(target="url", url=STAGE_URL)) is None


def test_url_auth_iam_refuses_a_host_it_cannot_sign_for_and_says_which_it_can():
    with pytest.raises(ConfigError, match=r"lambda-url.*execute-api") as info:
        remote.url_auth(settings(target="url", url="https://api.example.com/prod", url_auth="iam"))
    assert "api.example.com" in str(info.value)


def test_url_auth_iam_without_credentials_says_where_they_are_looked_for(no_credentials):
    with pytest.raises(ConfigError, match=r"no AWS credentials.*AWS_ACCESS_KEY_ID.*AWS_PROFILE"):
        remote.url_auth(settings(target="url", url=FUNCTION_URL, url_auth="iam"))


@pytest.mark.parametrize("module", ["botocore.session", "boto3"])
def test_without_the_aws_extra_the_error_says_to_install_it(monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'pytest-lambda-container\[aws\]'"):
        if module == "boto3":
            remote.DeployedFunction.from_settings(settings(target="function", function="fn"))
        else:
            remote.url_auth(settings(target="url", url=FUNCTION_URL, url_auth="iam"))


# -- the function target: Invoke ------------------------------------------------------------------------------------

TAIL = (
    "START RequestId: 6f1a Version: $LATEST\n"
    "hello from the handler\n"
    "END RequestId: 6f1a\n"
    "REPORT RequestId: 6f1a\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\t"
    "Max Memory Used: 71 MB\tInit Duration: 250.10 ms\t\n"
)


def function(**fields) -> remote.DeployedFunction:
    return remote.DeployedFunction.from_settings(settings(target="function", function="fn", **fields))


def answer(payload, *, function_error: str | None = None, tail: str = TAIL) -> dict:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(data), len(data)),
        "LogResult": base64.b64encode(tail.encode()).decode(),
        "ExecutedVersion": "$LATEST",
    }
    if function_error:
        response["FunctionError"] = function_error
    return response


def invoked(fn: remote.DeployedFunction, response: dict, event=None):
    """`fn.invoke_event(event)` with the Invoke API answering `response`; checks what was asked of it."""
    event = event if event is not None else {"n": 1}
    expected = {
        "FunctionName": fn.function,
        "InvocationType": "RequestResponse",
        "LogType": "Tail",
        "Payload": json.dumps(event).encode(),
    }
    with Stubber(fn.client) as stub:
        stub.add_response("invoke", response, expected)
        try:
            return fn.invoke_event(event)
        finally:
            stub.assert_no_pending_responses()


def test_a_result_comes_back_decoded_and_the_tail_and_report_are_kept():
    fn = function()
    event = events.sqs_event(["hello"])  # raw events and triggers travel as they are
    result = invoked(fn, answer({"batchItemFailures": []}), event)
    assert result == {"batchItemFailures": []}
    assert fn.logs() == TAIL
    assert fn.logs(tail=1).startswith("REPORT RequestId: 6f1a")
    report = fn.last_report
    assert report is not None
    assert (report.request_id, report.duration_ms, report.billed_duration_ms, report.memory_size_mb) == (
        "6f1a",
        12.5,
        13.0,
        512,
    )
    assert (report.init_duration_ms, report.max_memory_used_mb) == (250.1, 71.0)


def test_an_unhandled_function_error_is_the_containers_function_error_with_the_tail_as_logs():
    fn = function()
    error = {"errorType": "ValueError", "errorMessage": "boom", "stackTrace": ['  File "/var/task/app.py"\n']}
    with pytest.raises(FunctionError) as info:
        invoked(fn, answer(error, function_error="Unhandled"))
    assert type(info.value) is FunctionError
    assert (info.value.error_type, info.value.error_message) == ("ValueError", "boom")
    assert info.value.stack_trace == ['  File "/var/task/app.py"\n']
    assert info.value.logs == TAIL


def test_x_amz_function_error_makes_any_payload_an_error():
    # Lambda's header says so even when the payload does not look like an error (a handler's own error object).
    with pytest.raises(FunctionError) as info:
        invoked(function(), answer({"statusCode": 500}, function_error="Handled"))
    assert info.value.error_type == "Handled"
    assert info.value.payload == {"statusCode": 500}


def test_without_the_header_a_result_shaped_like_a_result_is_a_result():
    assert invoked(function(), answer({"errorMessage": "x", "statusCode": 400})) == {
        "errorMessage": "x",
        "statusCode": 400,
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: 6f1a Error: Task timed out after 3.00 seconds"},
        {"errorMessage": "2024-05-01T10:00:00.000Z 6f1a Task timed out after 3.00 seconds"},
    ],
    ids=["sandbox-timedout", "task-timed-out"],
)
def test_a_timeout_is_function_timeout(payload):
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 3\.00 seconds") as info:
        invoked(function(timeout=3.0), answer(payload, function_error="Unhandled"))
    assert info.value.timeout == 3.0
    assert info.value.logs == TAIL


def test_a_kill_for_memory_is_function_out_of_memory():
    payload = {"errorType": "Runtime.OutOfMemory", "errorMessage": "RequestId: 6f1a Error: Runtime exited"}
    with pytest.raises(FunctionOutOfMemory) as info:
        invoked(function(), answer(payload, function_error="Unhandled"))
    assert info.value.error_type == "Runtime.OutOfMemory"
    assert info.value.logs == TAIL


def test_a_handler_that_cannot_load_is_handler_import_error():
    payload = {"errorType": "Runtime.ImportModuleError", "errorMessage": "Unable to import module 'app'"}
    with pytest.raises(HandlerImportError) as info:
        invoked(function(), answer(payload, function_error="Unhandled"))
    assert info.value.logs == TAIL


def test_an_emulator_at_the_endpoint_says_errors_in_the_payload_only():
    # aws-lambda-rie answers a timeout as plain text, without X-Amz-Function-Error: protocol.py reads it.
    with pytest.raises(FunctionTimeout):
        invoked(function(), answer(b"Task timed out after 3.00 seconds", tail=""))
    with pytest.raises(FunctionError, match="boom"):
        invoked(function(), answer({"errorType": "E", "errorMessage": "boom"}, tail=""))


def test_a_payload_over_lambdas_limit_is_refused_before_anything_is_sent():
    fn = function()
    with Stubber(fn.client), pytest.raises(PayloadTooLarge):  # a call would fail: nothing is stubbed
        fn.invoke_event({"body": "x" * (6 * 1024 * 1024)})


@pytest.mark.parametrize(
    ("code", "status", "error", "words"),
    [
        ("ResourceNotFoundException", 404, ConfigError, r"no function fn in us-east-1.*--lambda-function"),
        ("AccessDeniedException", 403, ConfigError, r"lambda:InvokeFunction"),
        ("UnrecognizedClientException", 403, ConfigError, r"must be valid"),
        ("TooManyRequestsException", 429, InvocationError, r"TooManyRequestsException"),
    ],
)
def test_invoke_api_errors_say_what_and_how_to_fix(code, status, error, words):
    fn = function()
    with Stubber(fn.client) as stub, pytest.raises(error, match=words) as info:
        stub.add_client_error("invoke", service_error_code=code, service_message="nope", http_status_code=status)
        fn.invoke_event({})
    assert "\n" not in str(info.value)


def test_the_client_waits_past_the_functions_timeout_and_never_invokes_twice():
    fn = function(timeout=120.0)
    config = fn.client.meta.config
    assert config.read_timeout == 120.0 + DEPLOYED_MARGIN  # a cold start's init and the network, not more
    assert config.connect_timeout <= 10
    assert config.retries["total_max_attempts"] == 1
    sends = []

    def time_out(request, **kwargs):
        sends.append(request)
        raise botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)

    fn.client.meta.events.register("before-send.lambda.Invoke", time_out)
    with pytest.raises(FunctionTimeout, match=r"--lambda-timeout"):
        fn.invoke_event({})
    assert len(sends) == 1


def test_an_endpoint_that_does_not_answer_is_one_line_naming_the_option():
    fn = function(endpoint_url="http://127.0.0.1:9")

    def refuse(request, **kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url=request.url)

    fn.client.meta.events.register("before-send.lambda.Invoke", refuse)
    with pytest.raises(LambdaContainerError, match=r"--lambda-endpoint-url") as info:
        fn.invoke_event({})
    assert "\n" not in str(info.value)
    assert fn.client.meta.endpoint_url == "http://127.0.0.1:9"


def test_no_credentials_is_a_config_error_at_once(no_credentials):
    with pytest.raises(ConfigError, match=r"no AWS credentials found to invoke fn.*AWS_ACCESS_KEY_ID"):
        function()


@pytest.mark.parametrize(
    ("name", "region", "env", "expected"),
    [
        ("arn:aws:lambda:eu-central-1:123456789012:function:fn", "us-west-2", "ap-south-1", "eu-central-1"),
        ("fn", "us-west-2", "ap-south-1", "us-west-2"),
        ("fn", "us-east-1", "ap-south-1", "ap-south-1"),
        ("fn", "us-east-1", None, "us-east-1"),
    ],
    ids=["arn-wins", "region-option", "standard-chain", "default"],
)
def test_the_region_is_the_arns_then_the_options_then_the_standard_chains(monkeypatch, name, region, env, expected):
    if env:
        monkeypatch.setenv("AWS_DEFAULT_REGION", env)
    fn = remote.DeployedFunction.from_settings(settings(target="function", function=name, region=region))
    assert fn.client.meta.region_name == expected == fn.region


class _InvokeAPI(http.server.BaseHTTPRequestHandler):
    """A keep-alive HTTP/1.1 endpoint answering every Invoke with `{"ok": true}`; `closed` is set when the client
    closes its connection."""

    protocol_version = "HTTP/1.1"
    closed: threading.Event

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def finish(self) -> None:
        super().finish()
        self.closed.set()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def invoke_api(monkeypatch):
    """A local endpoint for `--lambda-endpoint-url`: its URL, and the event set when the client's connection closes."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    handler = type("Handler", (_InvokeAPI,), {"closed": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.closed
    server.shutdown()
    server.server_close()
    thread.join()


def test_close_closes_the_clients_connections(invoke_api):
    url, closed = invoke_api
    fn = function(endpoint_url=url)
    assert fn.invoke_event({}) == {"ok": True}
    assert not closed.is_set()  # kept alive for the next call: only close() ends it
    fn.close()
    assert closed.wait(timeout=30), "the connection to the Invoke API is still open after close()"
    fn.close()  # twice is fine
