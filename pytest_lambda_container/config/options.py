"""The options table: each `--lambda-NAME` flag and `lambda_NAME` ini key, parsed by its own function, with the
value parsers they share (also used by the CLI commands). The Option model itself is option.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..container.sandbox import parse_cpus, parse_ephemeral_storage, parse_memory
from ..errors import ConfigError
from ..fronts.cors import parse_methods
from .defaults import DEFAULT_PORT, DEFAULT_TIMEOUT
from .environment import parse_function_name, parse_region, read_env_file
from .option import INI_NAMES, Option, Origin, Shape
from .values import (
    parse_bool,
    parse_concurrency,
    parse_debug_port,
    parse_max_age,
    parse_media_types,
    parse_pairs,
    parse_port,
    parse_stage,
    parse_timeout,
    parse_url,
)

T = TypeVar("T")

__all__ = ["INI_NAMES", "OPTIONS", "TARGETS", "Option", "Origin", "Shape"]


def _text(raw: Any, origin: Origin, opt: Option) -> str:
    return str(raw).strip()


def _path(raw: Any, origin: Origin, opt: Option) -> Path:
    return (origin.base / str(raw).strip()).resolve()


def _env_file(raw: Any, origin: Origin, opt: Option) -> dict[str, str]:
    return read_env_file(_path(raw, origin, opt), origin.name)


def _choice(raw: Any, origin: Origin, opt: Option) -> str:
    value = str(raw).strip()
    if value not in opt.choices:
        raise ConfigError(
            f"{origin.name}: unknown {opt.name.replace('_', ' ')} {value!r}; choose one of {', '.join(opt.choices)}"
        )
    return value


def _pairs(raw: Any, origin: Origin, opt: Option) -> dict[str, str]:
    return parse_pairs([raw] if isinstance(raw, str) else list(raw), origin.name)


def _words(raw: Any, origin: Origin, opt: Option) -> tuple[str, ...]:
    # Repeated flags, ini lines, and commas or spaces within either.
    items = [raw] if isinstance(raw, str) else list(raw)
    return tuple(word for item in items for word in re.split(r"[\s,]+", str(item)) if word)


def _named(parse: Callable[[Any, str], T]) -> Callable[[Any, Origin, Option], T]:
    """An option's parser made of a parse function that takes the value and where it came from."""
    return lambda raw, origin, opt: parse(raw, origin.name)


def _switch(raw: Any, origin: Origin, opt: Option) -> bool:
    if str(raw).strip().lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ConfigError(f"{origin.name}: {raw!r} is neither on nor off")
    return parse_bool(raw, origin.name)


#: fronts.events.FORMATS' names, written out: importing the formats for the choices cost every pytest start (`--co`
#: too) ~30 ms (issue 17, "cheap when unused"); a unit test holds the two equal.
EVENT_FORMATS = ("rest", "http", "http-1.0", "function-url", "alb", "alb-multi")


#: Where the tests' requests go: see README's "Three targets, one suite".
TARGETS = ("container", "inprocess", "url", "function")
OPTIONS: tuple[Option, ...] = (
    Option("image", _text, "test this existing image as it is; build nothing", "IMAGE"),
    Option("dockerfile", _path, "Dockerfile to build (default: Dockerfile in the rootdir)", "PATH"),
    Option("context", _path, "build context (default: the Dockerfile's folder)", "DIR"),
    Option(
        "build_arg",
        _pairs,
        "docker build arg K=V (repeatable; ini key lambda_build_args, one per line)",
        "K=V",
        shape="pairs",
    ),
    Option("build_network", _text, "network mode of the build, e.g. host", "MODE"),
    Option("platform", _text, "platform to build for, e.g. linux/amd64 or linux/arm64", "PLATFORM"),
    Option(
        "port",
        _named(parse_port),
        f"host port for the emulator on 127.0.0.1 (default {DEFAULT_PORT}; 0 = any free port)",
        "N",
    ),
    Option("rie", _path, "aws-lambda-rie binary to mount into the container", "PATH"),
    Option(
        "env",
        _pairs,
        "environment variable K=V for the function (repeatable; ini: one per line)",
        "K=V",
        shape="pairs",
    ),
    Option(
        "env_file",
        _env_file,
        "file of KEY=VALUE lines for the function's environment (python-dotenv's rules); --lambda-env and ini "
        "lambda_env go over it",
        "PATH",
    ),
    Option("handler", _text, "override the image's CMD with this handler, e.g. app.handler", "NAME"),
    Option(
        "event_format",
        _choice,
        "event format: rest, http, http-1.0 (HTTP API, payload 1.0), function-url, alb, alb-multi (default rest)",
        "FORMAT",
        choices=EVENT_FORMATS,
    ),
    Option(
        "timeout",
        _named(parse_timeout),
        f"function timeout in seconds, passed to the emulator (default {DEFAULT_TIMEOUT:g})",
        "SECONDS",
    ),
    Option(
        "sandbox", _switch, "run the function as Lambda does: read-only, sized /tmp, memory, CPU (default on)", "on|off"
    ),
    Option("memory", _named(parse_memory), "the function's memory in MB, 128-10240 (default 512)", "MB"),
    Option(
        "ephemeral_storage", _named(parse_ephemeral_storage), "the size of /tmp in MB, 512-10240 (default 512)", "MB"
    ),
    Option(
        "cpus", _named(parse_cpus), "vCPUs for the function (default: Lambda's share, 1 per 1769 MB of memory)", "N"
    ),
    Option(
        "function_name",
        _named(parse_function_name),
        "the function's name, as Lambda tells it (default function)",
        "NAME",
    ),
    Option(
        "region", _named(parse_region), "the AWS region the function is told it runs in (default us-east-1)", "REGION"
    ),
    Option(
        "binary_media_types",
        lambda raw, origin, opt: parse_media_types(_words(raw, origin, opt), origin.name),
        "the REST API's binaryMediaTypes, e.g. */* or image/png (repeatable; ini: one per line; default none, as AWS)",
        "TYPE",
        shape="list",
    ),
    Option(
        "integration_timeout",
        _named(parse_timeout),
        "API Gateway's integration timeout in seconds (default: the front's, REST 29, HTTP API 30)",
        "SECONDS",
    ),
    Option(
        "cors_allow_origins",
        _words,
        "CORS of an http, http-1.0 or function-url front: the allowed origins, e.g. https://app.example or * "
        "(comma-separated or repeated; ini: one per line)",
        "ORIGINS",
        shape="list",
    ),
    Option(
        "cors_allow_methods",
        lambda raw, origin, opt: parse_methods(_words(raw, origin, opt), origin.name),
        "CORS: the allowed methods, e.g. GET,POST or * (comma-separated or repeated)",
        "METHODS",
        shape="list",
    ),
    Option(
        "cors_allow_headers",
        _words,
        "CORS: the allowed request headers (comma-separated or repeated)",
        "HEADERS",
        shape="list",
    ),
    Option(
        "cors_expose_headers",
        _words,
        "CORS: the response headers exposed to the page (comma-separated or repeated)",
        "HEADERS",
        shape="list",
    ),
    Option("cors_max_age", _named(parse_max_age), "CORS: seconds a browser may cache a preflight, 0-86400", "SECONDS"),
    Option(
        "cors_allow_credentials",
        _named(parse_bool),
        "CORS: allow cookies and other credentials (Access-Control-Allow-Credentials: true)",
        shape="flag",
    ),
    Option(
        "stage",
        _named(parse_stage),
        "the API Gateway stage every request is for (default: REST test, HTTP API $default); per call: stage=",
        "NAME",
    ),
    Option(
        "target",
        _choice,
        "where requests go: container (build and run the image), inprocess, url, function (default container)",
        "TARGET",
        choices=TARGETS,
    ),
    Option(
        "source",
        _path,
        "inprocess: the folder the handler's module is imported from (default: from the Dockerfile)",
        "DIR",
    ),
    Option(
        "url",
        _named(parse_url),
        "url: the deployed endpoint (API Gateway stage, Function URL, ALB)",
        "URL",
        env_var="PYTEST_LAMBDA_URL",
    ),
    Option(
        "url_auth",
        _choice,
        "url: sign requests with SigV4 (iam) or not (none, the default)",
        "none|iam",
        choices=("none", "iam"),
    ),
    Option(
        "function",
        _text,
        "function: the deployed function's name or ARN, called through Lambda's Invoke API",
        "NAME_OR_ARN",
    ),
    Option(
        "endpoint_url",
        _named(parse_url),
        "function: an endpoint that speaks Lambda's Invoke API, instead of AWS's",
        "URL",
    ),
    Option(
        "concurrency",
        _named(parse_concurrency),
        "invocations served at once, each by a container of its own, as Lambda scales (default 1)",
        "N",
    ),
    Option(
        "reuse",
        _named(parse_bool),
        "keep the container for the next run with the same image and settings, which uses it warm",
        shape="flag",
    ),
    Option("keep", _named(parse_bool), "keep the container after the session, and print how to reach it", shape="flag"),
    Option(
        "coverage",
        _named(parse_bool),
        "measure the function's coverage inside the container, merged into pytest-cov's --cov report",
        shape="flag",
    ),
    Option(
        "debug_port",
        _named(parse_debug_port),
        "run the function under debugpy, listening on 127.0.0.1:N; the first call waits for a debugger to attach",
        "N",
    ),
    Option(
        "skip_no_docker",
        _named(parse_bool),
        "skip tests that need a container when no Docker engine answers",
        shape="flag",
    ),
)
