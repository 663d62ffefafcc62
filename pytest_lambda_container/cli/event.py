"""The `event` command: an HTTP request given on the command line, as the complete event the plugin would send.

`python -m pytest_lambda_container event POST /test3 --query message=hoge | curl -d @- URL` invokes a running
container (one kept with `--lambda-keep`, or started by hand) with an event current Mangum recognises; a
hand-written `{"path": ..., "httpMethod": ...}` is one it rejects ("unable to infer a handler").
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from ..config.options import OPTIONS, Option
from ..container.protocol import INVOKE_PATH
from ..errors import ConfigError
from ..fronts.events import EventOptions, HttpRequest, get_format
from ..fronts.transport import check_invoke_arguments
from .settings_args import add_options, settings_of

#: The plugin's options that shape an event: the front, and the options every request of a run starts from
#: (`targets.transport_options`).
EVENT_OPTIONS = ("event_format", "region", "binary_media_types", "stage")
#: The host of the plugin's own client (`lambda_client`'s base URL); every front replaces it with its own.
HOST = "http://lambda"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `event` command's arguments."""
    parser.add_argument("method", help="HTTP method, e.g. GET or POST")
    parser.add_argument("path", help="path, with an optional ?query, e.g. /test3?message=hoge")
    parser.add_argument(
        "--query", action="append", default=[], metavar="NAME=VALUE", help="a query parameter (repeatable)"
    )
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="a header (repeatable)")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--body", metavar="TEXT", help="the request body; @FILE reads a file, @- standard input")
    body.add_argument(
        "--json", metavar="JSON", help="a JSON body (sets Content-Type: application/json); @FILE and @- as --body"
    )
    add_options(
        parser,
        options(),
        "the plugin's options that shape the event, read as pytest reads them: these flags, else the ini file pytest "
        "would read here",
        title="the event",
        aliases={"event_format": ("--format",)},
    )


def options() -> tuple[Option, ...]:
    """The plugin's options that `event` takes."""
    return tuple(opt for opt in OPTIONS if opt.name in EVENT_OPTIONS)


def run(args: argparse.Namespace) -> int:
    """Print the event of the request `args` describe, as one line of JSON."""
    try:
        settings = settings_of(args, Path.cwd(), options())
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    # Imported here: the targets module pulls in the container machinery, which printing an event does not need.
    from ..targets import transport_options

    event = request_event(
        args.method,
        args.path,
        query=[_pair(item, "=", "--query", "NAME=VALUE") for item in args.query],
        headers=[_pair(item, ":", "--header", "NAME:VALUE") for item in args.header],
        body=None if args.body is None else _read(args.body),
        json_body=None if args.json is None else _parse_json(_read(args.json)),
        event_format=settings.event_format,
        options=EventOptions(**transport_options(settings)),
    )
    # One line: `curl -d @-` strips newlines, and one event per line suits shell pipelines.
    try:
        print(json.dumps(event), flush=True)
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error of ours to print a traceback for
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def request_event(
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    json_body: Any = None,
    event_format: str = "rest",
    options: EventOptions | None = None,
) -> dict[str, Any]:
    """The event `event_format`'s front sends for this request, made as `LambdaTransport` makes it: an
    `httpx.Request` taken apart by `HttpRequest.from_httpx`; `ValueError` for a bad method, path or body."""
    verb = check_invoke_arguments(method, path, json_body, body)
    url = httpx.URL(HOST + path)
    if query:
        # Appended to a query the path already has: repeated keys are kept, as fronts keep them.
        url = url.copy_with(params=httpx.QueryParams([*url.params.multi_items(), *query]))
    request = httpx.Request(verb, url, headers=list(headers), content=body, json=json_body)
    return get_format(event_format).build(HttpRequest.from_httpx(request), options or EventOptions())


def curl_command(url: str, method: str = "GET", path: str = "/", event_format: str = "rest") -> str:
    """A shell line that invokes the container at `url` with the event `event_format`'s front sends for
    `method path`."""
    fmt = "" if event_format == "rest" else f" --format {shlex.quote(event_format)}"
    request = f"{shlex.quote(method)} {shlex.quote(path)}{fmt}"
    return f"python -m pytest_lambda_container event {request} | curl -sS -d @- {url}{INVOKE_PATH}"


def _pair(item: str, separator: str, option: str, shape: str) -> tuple[str, str]:
    name, found, value = item.partition(separator)
    if not found or not name.strip():
        raise ValueError(f"{option} {item!r}: expected {shape}")
    return (name.strip(), value.strip() if separator == ":" else value)


def _read(value: str) -> bytes:
    if value == "@-":
        return sys.stdin.buffer.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read the body from {value[1:]}: {exc.strerror}") from None
    return value.encode()


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ValueError(f"--json is not valid JSON: {exc}") from None
