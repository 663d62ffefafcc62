"""What an in-process handler sees of Lambda: its context object, and its environment without touching the tests'.

The environment: `os.environ` is one mapping per process, and swapping the function's variables into it for each
call would leak them into the tests and race with other threads. Instead `os.environ` is replaced, once, by
`ScopedEnviron`, which reads the function's variables only in code running in the function's context (its import and
its calls, which run in the function's own thread with a `ContextVar` set): the tests never see them, and writes from
outside the function go to the real environment as before (`monkeypatch.setenv` keeps working). Threads the handler
starts itself do not inherit a `ContextVar` (before Python 3.14), so they see the process's environment; and code that
took `from os import environ` before, or reads the C environment (`subprocess` children), sees the real one.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..container.sandbox import DEFAULT_MEMORY

#: The function's variables, in the function's own thread; None everywhere else.
FUNCTION_ENV: ContextVar[dict[str, str] | None] = ContextVar("lambda_function_env", default=None)


class ScopedEnviron(MutableMapping[str, str]):
    """`os.environ` as the process has it, with the running function's variables over it inside the function."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real

    def __getitem__(self, key: str) -> str:
        overlay = FUNCTION_ENV.get()
        if overlay is not None:
            if key in overlay:
                return overlay[key]
            if key in _HIDDEN:
                raise KeyError(key)
        return self.real[key]

    def __setitem__(self, key: str, value: str) -> None:
        overlay = FUNCTION_ENV.get()
        if overlay is not None:
            overlay[key] = value  # the function's own change stays the function's
        else:
            self.real[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = FUNCTION_ENV.get()
        if overlay is not None:
            if key not in overlay:
                raise KeyError(key)
            del overlay[key]
        else:
            del self.real[key]

    def _keys(self) -> list[str]:
        overlay = FUNCTION_ENV.get()
        if overlay is None:
            return list(self.real)
        return [k for k in self.real if k not in overlay and k not in _HIDDEN] + list(overlay)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def copy(self) -> dict[str, str]:
        return dict(self)

    # os.environ's own operators and attributes: the whole test process uses this object once installed.
    def __or__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**self, **other}

    def __ror__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**other, **self}

    def __ior__(self, other: Mapping[str, str]) -> ScopedEnviron:
        self.update(other)
        return self

    def __getattr__(self, name: str) -> Any:
        if name == "real":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.real, name)

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


#: The host's AWS settings that Lambda's environment never has: a function must not find the tester's profile.
_HIDDEN = frozenset({"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"})


def install() -> None:
    """Put `ScopedEnviron` in place of `os.environ`, once per process."""
    if not isinstance(os.environ, ScopedEnviron):
        # Replacing the mapping, not clearing it, is the point: the real one stays underneath.
        os.environ = ScopedEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


class CognitoIdentity:
    """`context.identity`: awslambdaric gives every call one, its fields None unless the caller sent an identity."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None) -> None:
        self.cognito_identity_id = cognito_identity_id
        self.cognito_identity_pool_id = cognito_identity_pool_id

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """`context.client_context.client`: the mobile app's fields (awslambdaric's `Client`)."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")


class ClientContext:
    """`context.client_context`, from the caller's client context (awslambdaric's `ClientContext`)."""

    __slots__ = ("client", "custom", "env")
    client: Client | None
    custom: dict[str, Any] | None
    env: dict[str, Any] | None


def _from_dict(cls: type[Any], values: Mapping[str, Any]) -> Any:
    # As awslambdaric's make_obj_from_dict: each slot from the mapping, None when absent, other keys dropped.
    obj = cls()
    for name in cls.__slots__:
        setattr(obj, name, values.get(name))
    return obj


def client_context_of(values: Mapping[str, Any] | None) -> ClientContext | None:
    """The `context.client_context` a caller's client context (the Invoke API's ClientContext, as JSON) gives."""
    if values is None:
        return None
    made: ClientContext = _from_dict(ClientContext, values)
    client = values.get("client")
    made.client = None if client is None else _from_dict(Client, client)
    return made


@dataclass
class LambdaContext:
    """The context object Lambda's Python runtime passes a handler, with the real remaining time of the call.

    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html; the types as awslambdaric's `lambda_context.py`
    (4.2.2) gives them: `memory_limit_in_mb` the string of AWS_LAMBDA_FUNCTION_MEMORY_SIZE, `identity` always an
    object, `tenant_id` the caller's (None without one), `log()`.
    """

    function_name: str
    memory_limit_in_mb: str | None
    invoked_function_arn: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: ClientContext | None = None
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def log(self, msg: object) -> None:
        """Write `msg` to the function's log as awslambdaric does without a log sink: to stdout, no newline added."""
        sys.stdout.write(str(msg))


def context_for(
    env: Mapping[str, str],
    timeout: float,
    account: str = "123456789012",
    *,
    tenant_id: str | None = None,
    client_context: Mapping[str, Any] | None = None,
) -> LambdaContext:
    """A fresh context for one call, from the function's environment (name, memory, version, region, log names) and
    what the caller sent (`tenant_id`, `client_context`)."""
    name = env.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    region = env.get("AWS_REGION", "us-east-1")
    return LambdaContext(
        function_name=name,
        memory_limit_in_mb=env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(DEFAULT_MEMORY)),
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{name}",
        log_group_name=env.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}"),
        log_stream_name=env.get("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
        deadline=time.monotonic() + timeout,
        function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        tenant_id=tenant_id,
        client_context=client_context_of(client_context),
    )
