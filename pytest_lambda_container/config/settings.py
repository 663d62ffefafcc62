"""Resolved settings: CLI over environment over ini over default (the options in `options.py`), errors that say where a
bad value came from."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..build.inputs import check_build_inputs
from ..container.protocol import emulator_base
from ..container.sandbox import (
    DEFAULT_EPHEMERAL,
    DEFAULT_MEMORY,
    Sandbox,
    parse_cpus,
    parse_ephemeral_storage,
    parse_memory,
)
from ..container.sandbox import of as sandbox_of
from ..errors import ConfigError
from ..fronts.cors import Cors
from .defaults import DEFAULT_PORT, DEFAULT_TIMEOUT
from .environment import DEFAULT_FUNCTION_NAME, DEFAULT_REGION, parse_function_name, parse_region
from .options import OPTIONS, Option, Origin
from .values import parse_port, parse_stage, parse_timeout, parse_url


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
    stage: str | None = None
    cors_allow_origins: tuple[str, ...] = ()
    cors_allow_methods: tuple[str, ...] = ()
    cors_allow_headers: tuple[str, ...] = ()
    cors_expose_headers: tuple[str, ...] = ()
    cors_max_age: int | None = None
    cors_allow_credentials: bool = False
    target: str = "container"
    source: Path | None = None
    url: str | None = None
    url_auth: str = "none"
    function: str | None = None
    endpoint_url: str | None = None
    concurrency: int = 1
    reuse: bool = False
    keep: bool = False
    skip_no_docker: bool = False
    coverage: bool = False
    debug_port: int | None = None

    def __post_init__(self) -> None:
        # Valid by construction, however made (resolve(), a test, a user's script): whoever holds Settings can
        # trust them, and nothing downstream checks again.
        _check_values(self)
        _check_target(self)
        if self.debug_port and self.concurrency > 1:
            raise ConfigError(
                "--lambda-debug-port attaches a debugger to one container, and --lambda-concurrency above 1 starts "
                "several: debug with --lambda-concurrency 1"
            )
        if self.coverage and self.reuse:
            raise ConfigError(
                "--lambda-coverage measures fresh containers, and --lambda-reuse keeps them from run to run (with the "
                "last run's lines): give one or the other"
            )

    @property
    def dockerfile_path(self) -> Path:
        """The Dockerfile to build (default `Dockerfile` in the rootdir)."""
        return self.dockerfile or self.rootdir / "Dockerfile"

    @property
    def limits(self) -> Sandbox:
        """Lambda's sandbox of these settings on this host (`enabled` False with --lambda-sandbox off)."""
        return sandbox_of(self.sandbox, self.memory, self.ephemeral_storage, self.cpus)

    @property
    def cors(self) -> Cors:
        """The front's CORS configuration (none unless a --lambda-cors-* option gives one)."""
        return Cors(
            allow_origins=self.cors_allow_origins,
            allow_methods=self.cors_allow_methods,
            allow_headers=self.cors_allow_headers,
            expose_headers=self.cors_expose_headers,
            max_age=self.cors_max_age,
            allow_credentials=self.cors_allow_credentials,
        )

    @property
    def front(self) -> str:
        """The front as the report header names it: the event format, and its stage and CORS origins when given."""
        parts = [self.event_format]
        if self.stage:
            parts.append(f"stage {self.stage}")
        if self.cors.configured:
            parts.append(f"CORS {','.join(self.cors_allow_origins) or 'configured'}")
        return " ".join([parts[0], *(f"({part})" for part in parts[1:])])

    @property
    def context_path(self) -> Path:
        """The build context (default: the Dockerfile's folder)."""
        return self.context or self.dockerfile_path.parent


def as_json(settings: Settings) -> dict[str, Any]:
    """`settings` as JSON values (`from_json` reads them back): what the forecast remembers of a run
    (container/forecast.py)."""
    encoded: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        encoded[f.name] = value
    return encoded


def from_json(data: Mapping[str, Any]) -> Settings:
    """The settings `as_json` wrote (checked as any are: `ConfigError`); `ValueError` where a field is missing or
    unknown (written by another version of the plugin), or of the wrong kind."""
    names = {f.name: str(f.type) for f in fields(Settings)}
    if set(data) != set(names):
        raise ValueError(f"fields differ: {sorted(set(data) ^ set(names))}")
    decoded: dict[str, Any] = {}
    for name, value in data.items():
        kind = names[name]  # the annotation's text (`from __future__ import annotations`), as on Python 3.9
        if value is not None and kind.startswith("Path"):
            value = Path(_of_kind(name, value, str))
        elif kind.startswith("tuple"):
            value = tuple(_of_kind(name, value, list))
        elif kind.startswith("Mapping"):
            value = dict(_of_kind(name, value, dict))
        decoded[name] = value
    try:
        return Settings(**decoded)
    except TypeError as exc:  # a value of the wrong kind, found by a check
        raise ValueError(str(exc)) from None


def _of_kind(name: str, value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"{name}: {type(value).__name__}, not {kind.__name__}")
    return value


def _check_values(s: Settings) -> None:
    """Each value within its range, as the option's parser would have it (a value given in Python is not parsed)."""
    name = "Settings({}=...)".format
    parse_port(s.port, name("port"))
    parse_timeout(s.timeout, name("timeout"))
    parse_memory(s.memory, name("memory"))
    parse_ephemeral_storage(s.ephemeral_storage, name("ephemeral_storage"))
    parse_function_name(s.function_name, name("function_name"))
    parse_region(s.region, name("region"))
    if s.cpus is not None:
        parse_cpus(s.cpus, name("cpus"))
    if s.stage is not None:
        parse_stage(s.stage, name("stage"))
    if s.integration_timeout is not None:
        parse_timeout(s.integration_timeout, name("integration_timeout"))
    for field_name in ("url", "endpoint_url"):
        value = getattr(s, field_name)
        if value is not None:
            parse_url(value, name(field_name))
    for opt in OPTIONS:
        value = getattr(s, opt.name, None)
        if opt.choices and value not in opt.choices:
            raise ConfigError(
                f"{name(opt.name)}: unknown {opt.name.replace('_', ' ')} {value!r}; choose one of "
                f"{', '.join(opt.choices)}"
            )


def _check_target(s: Settings) -> None:
    """What the target needs is given (a URL for `url` and for signing, a function for `function`), and the front
    can have the integration timeout asked for."""
    from ..fronts.cors import check_front

    if s.integration_timeout is not None:  # a front's own timeout is within its cap: no need to import the fronts
        from ..fronts.events import get_format  # (issue 17: every pytest start resolves the settings)
        from ..fronts.integration import integration_cap

        integration_cap(get_format(s.event_format), s.integration_timeout)
    check_front(s.cors, s.event_format)
    if s.target == "url" and not s.url:
        raise ConfigError(
            "the url target needs the endpoint: give --lambda-url URL, ini lambda_url or PYTEST_LAMBDA_URL"
        )
    if s.url_auth == "iam" and not s.url:
        raise ConfigError("--lambda-url-auth iam signs requests to --lambda-url, which is not given")
    if s.target == "function" and not s.function:
        raise ConfigError(
            "the function target needs the function: give --lambda-function NAME_OR_ARN or ini lambda_function (for "
            "aws-lambda-rie, give its invoke URL as --lambda-endpoint-url http://HOST:PORT/2015-03-31/functions/"
            "function/invocations: no name or credentials needed)"
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
        origin = Origin(f"option {opt.flag}", invocation_dir or rootdir)
        if (raw is None or raw == [] or raw is False) and opt.env_var and os.environ.get(opt.env_var):
            raw = os.environ[opt.env_var]
            origin = Origin(f"environment variable {opt.env_var}", invocation_dir or rootdir)
        if raw is None or raw == [] or raw is False:
            raw = ini(opt)
            origin = Origin(f"ini key {opt.ini}", rootdir)
        if raw is None or raw == "" or raw == [] or raw is False:
            continue
        values[opt.name] = opt.parse(raw, origin, opt)
    if "env_file" in values:
        # The file under the options: --lambda-env (or else ini lambda_env) over it, key by key.
        values["env"] = {**values.pop("env_file"), **values.get("env", {})}
    if "build_arg" in values:
        values["build_args"] = values.pop("build_arg")
    if values.get("target") == "function" and "function" not in values and emulator_base(values.get("endpoint_url")):
        values["function"] = DEFAULT_FUNCTION_NAME  # aws-lambda-rie serves one function, of that name
    settings = Settings(rootdir=rootdir, **values)
    # Only what was asked for explicitly is checked now: a project without a Dockerfile must still be able
    # to run its other tests with the plugin installed; the default is checked when a test needs the image.
    if settings.image is None and (settings.dockerfile or settings.context):
        check_build_inputs(settings.dockerfile_path, settings.context_path)
    return settings
