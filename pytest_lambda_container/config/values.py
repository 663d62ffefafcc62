"""Value parsers the options and the CLI commands share: each takes a raw value and where it came from, and says
what is wrong with it and what to give instead."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ConfigError
from .defaults import MAX_TIMEOUT

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def parse_debug_port(value: str | int, source: str) -> int:
    """The host port a debugger attaches to, 1-65535 (an editor's launch.json names it: never "any free port")."""
    port = parse_port(value, source)
    if port == 0:
        raise ConfigError(f"{source}: give the port your editor attaches to, 1-65535 (e.g. 5678), not 0")
    return port


def parse_timeout(value: str | float, source: str) -> float:
    """A positive number of seconds."""
    timeout = float(_number(value, float, source, "timeout", "a number of seconds"))
    if not timeout > 0:  # nan too
        raise ConfigError(f"{source}: timeout must be more than 0 seconds, not {value!r}")
    if timeout > MAX_TIMEOUT:
        raise ConfigError(f"{source}: timeout {value!r} is over Lambda's limit of {MAX_TIMEOUT:g} seconds (15 minutes)")
    return timeout


#: More containers than this on one machine is a load test's job, not a test suite's.
MAX_CONCURRENCY = 64


def parse_concurrency(value: str | int, source: str) -> int:
    """How many invocations the function serves at once: 1-MAX_CONCURRENCY containers."""
    valid = f"a whole number from 1 to {MAX_CONCURRENCY}"
    count = _number(value, int, source, "concurrency", valid)
    if not 1 <= count <= MAX_CONCURRENCY:
        raise ConfigError(f"{source}: concurrency {count} is out of range; give {valid}")
    return int(count)


def parse_url(value: str, source: str) -> str:
    """An absolute http(s) URL, without a trailing slash."""
    url = str(value).strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"{source}: {url!r} is not an http(s) URL; give one like https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
        )
    return url.rstrip("/")


def parse_max_age(value: str | int, source: str) -> int:
    """CORS `maxAge` in whole seconds: a function URL's `Cors.MaxAge` takes 0-86400."""
    valid = "a whole number of seconds from 0 to 86400"
    seconds = _number(value, int, source, "max age", valid)
    if not 0 <= seconds <= 86400:
        raise ConfigError(f"{source}: max age {seconds} is out of range; give {valid}")
    return int(seconds)


def parse_stage(value: str, source: str) -> str:
    """An API Gateway stage name: "Stage names can only contain alphanumeric characters, hyphens, and underscores.
    Maximum length is 128 characters" (known-issues page); HTTP APIs' `$default` too.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html"""
    stage = str(value).strip()
    if stage != "$default" and not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", stage):
        raise ConfigError(
            f"{source}: {stage!r} is not a stage name; API Gateway's have 1-128 letters, digits, hyphens and "
            "underscores (e.g. dev), or are $default"
        )
    return stage


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
