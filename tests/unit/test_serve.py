"""`serve` without Docker: the ini file pytest would read and the flags, resolved as the plugin resolves them (pytest
itself is the oracle); the gateway's translation of HTTP requests into events and of the front's answers back, with
a recording function and with the example app in-process; the function's log cut into lines."""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import re
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from mangum import Mangum

from pytest_lambda_container.__main__ import main
from pytest_lambda_container.cli import serve
from pytest_lambda_container.cli.gateway import Gateway, send_response
from pytest_lambda_container.cli.logfollow import lines_of
from pytest_lambda_container.config import inifile
from pytest_lambda_container.config.options import OPTIONS
from pytest_lambda_container.errors import ConfigError, ContainerError, FunctionError
from pytest_lambda_container.fronts.transport import LambdaTransport
from pytest_lambda_container.inprocess.function import InProcessFunction
from pytest_lambda_container.plugin import lambda_settings_of
from pytest_lambda_container.targets import transport_for

# -- the ini file pytest would read ----------------------------------------------------------------------------

LAYOUTS: dict[str, dict[str, str]] = {
    "pytest.ini, even empty, before pyproject.toml": {
        "pytest.ini": "",
        "pyproject.toml": "[tool.pytest.ini_options]\nlambda_memory = '1024'\n",
    },
    "pyproject.toml without pytest's table is passed over for tox.ini up the tree": {
        "pkg/pyproject.toml": "[project]\nname = 'x'\n",
        "tox.ini": "[pytest]\nlambda_memory = 1024\n",
    },
    "tox.ini without [pytest] is passed over": {
        "pkg/tox.ini": "[tox]\nenvlist = py311\n",
        "setup.cfg": "[tool:pytest]\nlambda_memory = 1024\n",
    },
    "setup.cfg without [tool:pytest] is passed over": {
        "pkg/setup.cfg": "[metadata]\nname = x\n",
        "pkg/pyproject.toml": "[tool.pytest.ini_options]\nlambda_memory = 1024\n",
    },
    "no configuration: the folder of setup.py": {"setup.py": "", "pkg/x.txt": ""},
    "no configuration at all: a pyproject.toml's folder": {"pyproject.toml": "[project]\nname = 'x'\n", "pkg/x": ""},
}


def make(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_ini_file_and_rootdir_are_pytests(pytester: pytest.Pytester, layout: str, monkeypatch) -> None:
    make(pytester.path, LAYOUTS[layout])
    (pytester.path / "pkg").mkdir(exist_ok=True)
    monkeypatch.chdir(pytester.path / "pkg")
    config = pytester.parseconfig()
    found = inifile.find(Path.cwd())
    assert (found.rootdir, found.path) == (config.rootpath, config.inipath)
    assert found.string("lambda_memory") == config.getini("lambda_memory")


@pytest.mark.parametrize(
    "files",
    [
        {"pytest.ini": "[pytest]\nlambda_env =\n    A=1\n\n    B=two words\nlambda_build_args = X=1\n"},
        {"pyproject.toml": '[tool.pytest.ini_options]\nlambda_env = ["A=1", "B=two words"]\nlambda_keep = true\n'},
        {"pyproject.toml": '[tool.pytest.ini_options]\nlambda_env = """\n  A=1\n  B=two words\n"""\n'},
        {"setup.cfg": "[tool:pytest]\nlambda_env = A=1\n  B=two words\nlambda_sandbox = off\n"},
    ],
    ids=["pytest.ini", "pyproject list", "pyproject text", "setup.cfg"],
)
def test_values_are_read_as_pytest_reads_them(pytester: pytest.Pytester, files, monkeypatch) -> None:
    make(pytester.path, files)
    monkeypatch.chdir(pytester.path)
    config = pytester.parseconfig()
    found = inifile.find(pytester.path)
    for key in ("lambda_env", "lambda_build_args"):
        assert found.linelist(key) == config.getini(key)
    for key in ("lambda_keep", "lambda_sandbox"):
        assert found.string(key) == config.getini(key)


def test_a_list_where_one_value_goes_says_which_key_and_file(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\nlambda_memory = ["1", "2"]\n'})
    with pytest.raises(ConfigError, match=r"ini key lambda_memory in .*pyproject.toml: takes one value"):
        inifile.find(tmp_path).string("lambda_memory")


# -- settings: the ini file and the flags, as the plugin resolves them --------------------------------------------

PROJECT = {
    "pytest.ini": "[pytest]\nlambda_dockerfile = fn/Dockerfile\nlambda_env =\n    A=1\n    B=2\n"
    "lambda_memory = 1024\nlambda_event_format = http\nlambda_binary_media_types = image/png\n"
    "lambda_build_args = K=1\n",
    "fn/Dockerfile": "FROM scratch\n",
    "fn/other.Dockerfile": "FROM scratch\n",
    "sub/x": "",
}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [
        (),
        ("--lambda-env", "C=3", "--lambda-env", "D=4", "--lambda-memory", "256", "--lambda-keep"),
        ("--lambda-dockerfile=../fn/other.Dockerfile", "--lambda-event-format", "alb", "--lambda-sandbox", "off"),
        ("--lambda-binary-media-types", "*/*", "--lambda-build-arg", "K=V", "--lambda-region", "eu-west-1"),
    ],
    ids=["ini only", "env and memory flags", "a path flag from a subfolder", "lists and pairs"],
)
def test_settings_are_the_plugins_for_the_same_ini_and_flags(pytester: pytest.Pytester, monkeypatch, argv) -> None:
    make(pytester.path, PROJECT)
    monkeypatch.chdir(pytester.path / "sub")
    config = pytester.parseconfigure(*argv)
    expected = lambda_settings_of(config)
    got = serve.settings_of(parse(*argv), Path.cwd())
    assert got.env  # the ini file was read at all
    # Unless given, the emulator takes any free port: a test run's 9000 stays free.
    assert got == type(expected)(**{**vars(expected), "port": 0})


def test_the_gateways_transport_is_the_one_the_tests_clients_get_for_the_same_settings(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nlambda_event_format = http\nlambda_binary_media_types = image/png\n"
            "lambda_integration_timeout = 12\n"
        },
    )
    settings = serve.settings_of(parse("--lambda-region", "eu-west-1"), tmp_path)
    transport = transport_for(settings, Recorder(), raise_function_errors=False)
    assert (transport.event_format.name, transport.integration_timeout) == ("http", 12)
    assert (transport.options.region, tuple(transport.options.binary_media_types or ())) == (
        "eu-west-1",
        ("image/png",),
    )
    assert transport.raise_function_errors is False


def test_every_plugin_option_but_the_other_targets_is_a_flag() -> None:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    flags = {flag for action in parser._actions for flag in action.option_strings}  # argparse's documented list
    assert {opt.flag for opt in OPTIONS} - flags == {opt.flag for opt in OPTIONS if opt.name in serve.NOT_HERE}


def test_serve_always_runs_the_container_and_a_given_emulator_port_is_kept(tmp_path: Path) -> None:
    make(tmp_path, {"pytest.ini": "[pytest]\nlambda_target = url\nlambda_url = nonsense\nlambda_port = 9100\n"})
    settings = serve.settings_of(parse(), tmp_path)
    assert (settings.target, settings.port) == ("container", 9100)
    assert serve.settings_of(parse("--lambda-port", "9200"), tmp_path).port == 9200


@pytest.mark.parametrize(
    ("host", "private"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False)]
)
def test_only_a_loopback_host_listens_without_a_warning(host: str, private: bool) -> None:
    assert serve._is_loopback(host) is private


def test_a_bad_ini_value_names_its_key(tmp_path: Path) -> None:
    make(tmp_path, {"tox.ini": "[pytest]\nlambda_memory = 5\n"})
    with pytest.raises(ConfigError, match="ini key lambda_memory"):
        serve.settings_of(parse(), tmp_path)


def test_without_uvicorn_one_line_says_what_to_install(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what an import of a package that is not installed does
    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install pytest-lambda-container[serve]" in err


def test_a_busy_port_fails_before_anything_is_built(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere")
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", "--port", str(busy.getsockname()[1])]) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


# -- the gateway: HTTP request -> httpx.Request -> event -> the front's answer ---------------------------------


class Recorder:
    """A function that keeps the events it gets and answers `result`, or raises `error`."""

    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.result = result if result is not None else {"statusCode": 200, "body": "ok"}
        self.error = error
        self.events: list[dict[str, Any]] = []

    def invoke_event(self, event: Any) -> Any:
        self.events.append(event)
        if self.error is not None:
            raise self.error
        return self.result


def scope_of(method: str, raw: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    path, _, query = raw.partition(b"?")
    return {
        "type": "http",
        "method": method,
        "scheme": "http",
        "server": ("127.0.0.1", 3000),
        "path": unquote(path.decode()),  # ASGI's path is decoded; raw_path is as sent
        "raw_path": path,
        "query_string": query,
        "headers": headers,
    }


def call(
    function: Any,
    method: str,
    raw: bytes,
    headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    chunks: tuple[bytes, ...] = (b"",),
    event_format: str = "rest",
) -> tuple[dict[str, Any], bytes, list[str]]:
    """Run the gateway on one request: (the response start message, the body sent, the log lines)."""
    lines: list[str] = []
    transport = LambdaTransport(function, event_format=event_format, raise_function_errors=False)
    app = Gateway(transport, log=lines.append)
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope_of(method, raw, list(headers)), receive, send))
    start, *bodies = sent
    return start, b"".join(m.get("body", b"") for m in bodies), lines


VOLATILE = ("requestId", "extendedRequestId", "requestTime", "requestTimeEpoch")


def stable(event: dict[str, Any]) -> dict[str, Any]:
    """`event` without what differs between any two calls (ids, times)."""
    event = json.loads(json.dumps(event))
    for key in VOLATILE:
        event["requestContext"].pop(key, None)
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("X-Amzn-Trace-Id", None)
    return event


def test_the_event_is_the_one_lambda_client_sends_for_the_same_request() -> None:
    function = Recorder()
    headers = [(b"host", b"127.0.0.1:3000"), (b"x-rep", b"1"), (b"x-rep", b"2"), (b"accept", b"*/*")]
    call(function, "GET", b"/items/a%2Fb%20c?a=1&a=2&b=x%20y", headers)
    event = function.events[0]
    assert event["path"] == "/items/a%2Fb%20c"  # as sent: an escaped slash is not a slash
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
    assert event["multiValueHeaders"]["x-rep"] == ["1", "2"]
    # What the plugin's transport makes of that request, sent by a client that adds no headers of its own.
    LambdaTransport(function).handle_request(
        httpx.Request("GET", "http://127.0.0.1:3000/items/a%2Fb%20c?a=1&a=2&b=x%20y", headers=headers)
    )
    assert stable(event) == stable(function.events[1])


def test_a_body_in_pieces_arrives_whole_as_its_bytes() -> None:
    function = Recorder()
    body = bytes(range(256))
    headers = [(b"content-type", b"application/octet-stream"), (b"transfer-encoding", b"chunked")]
    call(function, "POST", b"/upload", headers, chunks=(body[:100], body[100:], b""), event_format="http")
    event = function.events[0]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body
    # Its framing was the connection's: the event has the length of the whole body instead.
    assert "transfer-encoding" not in event["headers"]
    assert event["headers"]["content-length"] == "256"


def test_each_front_drops_the_hop_by_hop_headers_it_drops() -> None:
    function = Recorder()
    call(function, "GET", b"/", [(b"connection", b"keep-alive"), (b"x-a", b"1")], event_format="alb")
    call(function, "GET", b"/", [(b"connection", b"keep-alive"), (b"x-a", b"1")], event_format="rest")
    alb, rest = function.events
    assert alb["headers"]["connection"] == "keep-alive"  # ALB's sample event shows it
    assert "connection" not in rest["headers"]


def test_the_gateway_passes_no_hop_by_hop_header_of_the_fronts_answer_on() -> None:
    """The one list (RFC 9110 §7.6.1, and Trailer): uvicorn frames the answer itself, so none of them goes on."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    hop = [(name, "x") for name in ("Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade")]
    response = httpx.Response(200, headers=[*hop, ("Transfer-Encoding", "chunked"), ("X-A", "1")], content=b"hi")
    asyncio.run(send_response(send, response))
    assert sent[0]["headers"] == [(b"x-a", b"1"), (b"content-length", b"2")]


def test_the_answer_keeps_repeated_headers_status_and_body_bytes() -> None:
    zipped = gzip.compress(b'{"ok": true}')
    result = {
        "statusCode": 201,
        "headers": {"Content-Encoding": "gzip"},
        "cookies": ["a=1", "b=2"],
        "body": base64.b64encode(zipped).decode(),
        "isBase64Encoded": True,
    }
    headers = [(b"content-type", b"application/json")]
    # Payload 2.0: a base64 body is bytes whatever its type (REST needs binary media types for that).
    start, body, lines = call(Recorder(result), "POST", b"/x?y=1", headers, event_format="http")
    assert start["status"] == 201
    assert [v for k, v in start["headers"] if k == b"set-cookie"] == [b"a=1", b"b=2"]
    # The bytes the front sent, still compressed: the header says so, and the client unzips them.
    assert body == zipped
    assert (b"content-length", str(len(zipped)).encode()) in start["headers"]
    assert re.fullmatch(r"POST /x\?y=1 201 \d+ ms", lines[-1])


def test_a_head_request_gets_no_body_and_keeps_the_length_a_get_would_have() -> None:
    lines: list[str] = []
    # A front that answers HEAD with the GET's headers and body: the gateway still sends no body.
    answer = httpx.Response(200, headers={"content-type": "text/plain"}, content=b"a body")
    app = Gateway(httpx.MockTransport(lambda request: answer), log=lines.append)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope_of("HEAD", b"/x", []), receive, send))
    start, body = sent
    assert (start["status"], body["body"]) == (200, b"")
    assert (b"content-length", b"6") in start["headers"]
    assert lines[0] == "HEAD /x ..." and len(lines) == 2 and lines[1].startswith("HEAD /x 200 ")


def test_a_function_error_is_the_fronts_answer_and_a_dead_container_a_502_that_says_why() -> None:
    raised = FunctionError("RuntimeError", "boom", ["  File app.py, line 1"])
    start, body, lines = call(Recorder(error=raised), "GET", b"/boom")
    assert (start["status"], json.loads(body)) == (502, {"message": "Internal server error"})
    assert re.fullmatch(r"GET /boom 502 \d+ ms \(RuntimeError: boom\)", lines[1]), lines
    start, _, lines = call(Recorder({"errorMessage": "boom", "errorType": "RuntimeError"}), "GET", b"/")
    assert start["status"] == 502
    assert re.fullmatch(r"GET / 502 \d+ ms \(InvalidResponse: .{100,}\.\.\.\)", lines[1]), lines
    start, body, lines = call(Recorder(error=ContainerError("container plc-1 died and cannot restart")), "GET", b"/")
    assert start["status"] == 502
    assert "container plc-1 died" in json.loads(body)["message"]
    assert lines[1] == "error: container plc-1 died and cannot restart"
    assert lines[2].startswith("GET / 502 ")


async def _through_gateway(function: Any, *paths: str) -> list[httpx.Response]:
    app = Gateway(LambdaTransport(function, raise_function_errors=False), log=lambda line: None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:3000") as client:
        return [await client.get(path) for path in paths]


def test_fastapis_docs_page_and_its_openapi_json_come_through(example_app: ModuleType) -> None:
    function = InProcessFunction(Mangum(example_app.app, lifespan="off"))
    try:
        docs, spec = asyncio.run(_through_gateway(function, "/docs", "/openapi.json"))
    finally:
        function.close()
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text  # the page loads the spec from here, through the gateway too
    assert spec.status_code == 200
    assert "/test1" in spec.json()["paths"]


# -- the function's log -----------------------------------------------------------------------------------------


def test_log_chunks_become_whole_lines_with_the_emulators_lines_apart() -> None:
    chunks = [b"hel", b"lo\nSTART RequestId: 0123abcd-1 Version: $LATEST", b"\nwor", b"ld\r\nEND Requ", b"estId: x\n"]
    assert list(lines_of(chunks)) == [
        "hello",
        "START RequestId: 0123abcd-1 Version: $LATEST",
        "world",
        "END RequestId: x",
    ]
    assert list(lines_of([b"no newline at the end"])) == ["no newline at the end"]
    joined = b"printed lineEND RequestId: 0123abcd-2\n"
    assert list(lines_of([joined])) == ["printed line", "END RequestId: 0123abcd-2"]


def test_the_request_line_comes_before_the_functions_own_lines() -> None:
    # Issue 21, item 11: the request's line used to come after what the function printed while answering it.
    lines: list[str] = []

    def function(request: httpx.Request) -> httpx.Response:
        lines.append("  | the function's own line")  # as the log follower prints it, during the call
        return httpx.Response(200, content=b"ok")

    app = Gateway(httpx.MockTransport(function), log=lines.append)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope_of("GET", b"/items/5", []), receive, send))
    assert lines[:2] == ["GET /items/5 ...", "  | the function's own line"]
    assert re.fullmatch(r"GET /items/5 200 \d+ ms", lines[2]), lines
