"""Resolved settings: one table of options, CLI over ini over default, errors that say where a bad value came from."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from .errors import ConfigError
from .image import check_build_inputs
from .lambda_env import DEFAULT_FUNCTION_NAME, DEFAULT_REGION, parse_function_name, parse_region
from .lambda_env import environment as lambda_environment
from .sandbox import DEFAULT_EPHEMERAL, DEFAULT_MEMORY, Sandbox, parse_cpus, parse_ephemeral_storage, parse_memory
from .sandbox import of as sandbox_of

T = TypeVar("T")

#: How an option is given: one value, repeated `K=V` values or repeated values (ini: one per line), or a bare flag.
Shape = Literal["value", "pairs", "list", "flag"]


@dataclass(frozen=True)
class Source:
    """Where a raw value came from: for error messages, and the folder its relative paths start from."""

    name: str
    base: Path


@dataclass(frozen=True)
class Option:
    """One setting: a `--lambda-NAME` flag and the `lambda_NAME` ini key, parsed by its own function."""

    name: str
    parse: Callable[[Any, Source, Option], Any]
    help: str
    metavar: str = ""
    shape: Shape = "value"
    choices: tuple[str, ...] = ()
    #: An environment variable read when neither the command line nor the ini file gives a value.
    env_var: str | None = None

    @property
    def flag(self) -> str:
        return "--lambda-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "lambda_" + self.name


def _text(raw: Any, source: Source, opt: Option) -> str:
    return str(raw).strip()


def _path(raw: Any, source: Source, opt: Option) -> Path:
    return (source.base / str(raw).strip()).resolve()


def _choice(raw: Any, source: Source, opt: Option) -> str:
    value = str(raw).strip()
    if value not in opt.choices:
        raise ConfigError(
            f"{source.name}: unknown {opt.name.replace('_', ' ')} {value!r}; choose one of {', '.join(opt.choices)}"
        )
    return value


def _pairs(raw: Any, source: Source, opt: Option) -> dict[str, str]:
    return parse_pairs([raw] if isinstance(raw, str) else list(raw), source.name)


def _words(raw: Any, source: Source, opt: Option) -> tuple[str, ...]:
    # Repeated flags, ini lines, and commas or spaces within either.
    items = [raw] if isinstance(raw, str) else list(raw)
    return tuple(word for item in items for word in re.split(r"[\s,]+", str(item)) if word)


def _named(parse: Callable[[Any, str], T]) -> Callable[[Any, Source, Option], T]:
    """An option's parser made of a parse function that takes the value and where it came from."""
    return lambda raw, source, opt: parse(raw, source.name)


def _switch(raw: Any, source: Source, opt: Option) -> bool:
    if str(raw).strip().lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ConfigError(f"{source.name}: {raw!r} is neither on nor off")
    return parse_bool(raw, source.name)


def _event_formats() -> tuple[str, ...]:
    from .events import FORMATS

    return tuple(FORMATS)


# `lambda_build_args` reads better in an ini file than `lambda_build_arg`.
INI_NAMES = {"build_arg": "lambda_build_args"}

#: Where the tests' requests go: see README's "Three targets, one suite".
TARGETS = ("container", "inprocess", "url", "function")
DEFAULT_PORT = 9000
DEFAULT_TIMEOUT = 300.0
MAX_TIMEOUT = 900.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Settings:
    """Everything the plugin was told, resolved and checked."""

    rootdir: Path
    image: str | None = None
    dockerfile: Path | None = None
    context: Path | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    build_network: str | None = None
    platform: str | None = None
    port: int = DEFAULT_PORT
    rie: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    handler: str | None = None
    event_format: str = "rest"
    timeout: float = DEFAULT_TIMEOUT
    sandbox: bool = True
    memory: int = DEFAULT_MEMORY
    ephemeral_storage: int = DEFAULT_EPHEMERAL
    cpus: float | None = None
    function_name: str = DEFAULT_FUNCTION_NAME
    region: str = DEFAULT_REGION
    binary_media_types: tuple[str, ...] = ()
    integration_timeout: float | None = None
    target: str = "container"
    source: Path | None = None
    url: str | None = None
    url_auth: str = "none"
    function: str | None = None
    endpoint_url: str | None = None
    keep: bool = False
    skip_no_docker: bool = False

    @property
    def dockerfile_path(self) -> Path:
        """The Dockerfile to build (default `Dockerfile` in the rootdir)."""
        return self.dockerfile or self.rootdir / "Dockerfile"

    @property
    def limits(self) -> Sandbox:
        """Lambda's sandbox of these settings on this host (`enabled` False with --lambda-sandbox off)."""
        return sandbox_of(self.sandbox, self.memory, self.ephemeral_storage, self.cpus)

    @property
    def lambda_environment(self) -> dict[str, str]:
        """Lambda's reserved variables for a new container (each gets its own log stream)."""
        return lambda_environment(self.function_name, self.region)

    @property
    def context_path(self) -> Path:
        """The build context (default: the Dockerfile's folder)."""
        return self.context or self.dockerfile_path.parent


def check_target(settings: Settings) -> None:
    """What the target needs is given (a URL for `url`, a function for `function`), and the front can have the
    integration timeout asked for."""
    from .events import get_format

    limit = get_format(settings.event_format).max_integration_timeout
    if settings.integration_timeout is not None and limit is not None and settings.integration_timeout > limit:
        raise ConfigError(
            f"integration timeout {settings.integration_timeout:g}s is over what the {settings.event_format} front "
            f"allows ({limit:g}s; AWS cannot raise it): give --lambda-integration-timeout {limit:g} or less"
        )
    if settings.target == "url" and not settings.url:
        raise ConfigError(
            "the url target needs the endpoint: give --lambda-url URL, ini lambda_url or PYTEST_LAMBDA_URL"
        )
    if settings.target == "function" and not settings.function:
        raise ConfigError(
            "the function target needs the function: give --lambda-function NAME_OR_ARN or ini lambda_function"
        )


def parse_pairs(values: Iterable[str], source: str) -> dict[str, str]:
    """`K=V` strings to a dict; a malformed one is a `ConfigError` naming it and its source."""
    out: dict[str, str] = {}
    for raw in values:
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _ENV_NAME.match(key):
            raise ConfigError(
                f"{source}: {raw!r} is not KEY=VALUE; write it as NAME=value, "
                "NAME being letters, digits and _ (not starting with a digit)"
            )
        out[key] = value
    return out


def _number(value: str | float, convert: type[int] | type[float], source: str, what: str, valid: str) -> int | float:
    try:
        return convert(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: {what} {value!r} is not a number; give {valid}") from None


def parse_port(value: str | int, source: str) -> int:
    """A TCP port 0-65535 (0 = any free port)."""
    valid = "0-65535 (0 = any free port)"
    port = int(_number(value, int, source, "port", valid))
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source}: port {port} is out of range; give {valid}")
    return port


def parse_timeout(value: str | float, source: str) -> float:
    """A positive number of seconds."""
    timeout = float(_number(value, float, source, "timeout", "a number of seconds"))
    if not timeout > 0:  # nan too
        raise ConfigError(f"{source}: timeout must be more than 0 seconds, not {value!r}")
    if timeout > MAX_TIMEOUT:
        raise ConfigError(f"{source}: timeout {value!r} is over Lambda's limit of {MAX_TIMEOUT:g} seconds (15 minutes)")
    return timeout


def parse_url(value: str, source: str) -> str:
    """An absolute http(s) URL, without a trailing slash."""
    url = str(value).strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"{source}: {url!r} is not an http(s) URL; give one like https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
        )
    return url.rstrip("/")


def parse_media_types(values: Iterable[str], source: str) -> tuple[str, ...]:
    """Media types as API Gateway's `binaryMediaTypes` takes them: `type/subtype`, either part may be `*`."""
    out = []
    for value in values:
        if not re.match(r"^[\w.+*-]+/[\w.+*-]+$", value):
            raise ConfigError(f"{source}: {value!r} is not a media type; give one like image/png, image/* or */*")
        out.append(value)
    return tuple(out)


def parse_bool(value: str | bool, source: str) -> bool:
    """true/false, yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{source}: {value!r} is not true or false")


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
        "port", _named(parse_port), "host port for the emulator on 127.0.0.1 (default 9000; 0 = any free port)", "N"
    ),
    Option("rie", _path, "aws-lambda-rie binary to mount into the container", "PATH"),
    Option(
        "env",
        _pairs,
        "environment variable K=V for the function (repeatable; ini: one per line)",
        "K=V",
        shape="pairs",
    ),
    Option("handler", _text, "override the image's CMD with this handler, e.g. app.handler", "NAME"),
    Option(
        "event_format",
        _choice,
        "event format: rest, http, function-url, alb, alb-multi (default rest)",
        "FORMAT",
        choices=_event_formats(),
    ),
    Option(
        "timeout", _named(parse_timeout), "function timeout in seconds, passed to the emulator (default 300)", "SECONDS"
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
        lambda raw, source, opt: parse_media_types(_words(raw, source, opt), source.name),
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
    Option("keep", _named(parse_bool), "keep the container after the session, and print how to reach it", shape="flag"),
    Option(
        "skip_no_docker",
        _named(parse_bool),
        "skip tests that need a container when no Docker engine answers",
        shape="flag",
    ),
)


def resolve(
    rootdir: Path,
    cli: Callable[[Option], Any],
    ini: Callable[[Option], Any],
    invocation_dir: Path | None = None,
) -> Settings:
    """Settings from the CLI value (None when not given) or else the ini value (None or empty when not set).

    Relative paths on the command line are taken from where pytest was run, as a shell user expects; in ini
    keys, from the rootdir.
    """
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        raw = cli(opt)
        source = Source(f"option {opt.flag}", invocation_dir or rootdir)
        if (raw is None or raw == [] or raw is False) and opt.env_var and os.environ.get(opt.env_var):
            raw = os.environ[opt.env_var]
            source = Source(f"environment variable {opt.env_var}", invocation_dir or rootdir)
        if raw is None or raw == [] or raw is False:
            raw = ini(opt)
            source = Source(f"ini key {INI_NAMES.get(opt.name, opt.ini)}", rootdir)
        if raw is None or raw == "" or raw == [] or raw is False:
            continue
        values[opt.name] = opt.parse(raw, source, opt)
    if "build_arg" in values:
        values["build_args"] = values.pop("build_arg")
    settings = Settings(rootdir=rootdir, **values)
    check_target(settings)
    # Only what was asked for explicitly is checked now: a project without a Dockerfile must still be able
    # to run its other tests with the plugin installed; the default is checked when a test needs the image.
    if settings.image is None and (settings.dockerfile or settings.context):
        check_build_inputs(settings.dockerfile_path, settings.context_path)
    return settings
