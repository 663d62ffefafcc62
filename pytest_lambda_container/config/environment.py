"""The environment Lambda gives a function, pure: the reserved variables with the values a deployed image sees.

Values from AWS's documentation of the runtime environment variables,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import datetime
import math
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError

DEFAULT_FUNCTION_NAME = "function"
DEFAULT_REGION = "us-east-1"
#: Lambda's function names: letters, digits, hyphens and underscores, at most 64.
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
#: Lambda always provides credentials (the execution role's). These are clearly fake, so that an SDK client the
#: function builds at import time works and any call it makes to AWS fails with an invalid-token error, never with
#: the host's credentials (the container never sees the host's environment).
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKELAMBDASANDBOX",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-of-pytest-lambda-container",
    "AWS_SESSION_TOKEN": "fake-session-token-of-pytest-lambda-container",
}


def environment(
    function_name: str = DEFAULT_FUNCTION_NAME,
    region: str = DEFAULT_REGION,
    *,
    today: datetime.date | None = None,
    instance: str | None = None,
) -> dict[str, str]:
    """Lambda's reserved variables for one execution environment (`instance`: its log stream's id).

    LAMBDA_TASK_ROOT and LAMBDA_RUNTIME_DIR are left to the image: a custom image's code is not in /var/task, and
    AWS base images set both themselves.
    """
    day = (today or datetime.datetime.now(datetime.timezone.utc).date()).strftime("%Y/%m/%d")
    # As in the documentation's table (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{day}/[$LATEST]{instance or uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TZ": ":UTC",
        **FAKE_CREDENTIALS,
    }


def function_environment(
    reserved: Mapping[str, str],
    *,
    timeout: float,
    memory: int | None,
    env: Mapping[str, str],
    task_root: str | None = None,
    handler: str | None = None,
) -> dict[str, str]:
    """A function's whole environment, on every target: Lambda's `reserved` variables, its timeout and memory as the
    runtime reads them, and the user's `env` over all of them (a user may override even Lambda's own).

    `task_root` and `handler` become LAMBDA_TASK_ROOT ("the path to your Lambda function code") and _HANDLER ("the
    handler location configured on the function"), https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html:
    given where no image sets them (in-process, where the code is the source folder on this machine).
    """
    return {
        **reserved,
        **({"LAMBDA_TASK_ROOT": task_root} if task_root is not None else {}),
        **({"_HANDLER": handler} if handler is not None else {}),
        # The emulator reads the function timeout from here, in whole seconds, never shorter than asked.
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(max(1, math.ceil(timeout))),
        # The runtime reads it for context.memory_limit_in_mb, and the emulator for its REPORT line.
        **({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory)} if memory is not None else {}),
        **env,
    }


def parse_function_name(value: str, source: str) -> str:
    """A Lambda function name."""
    name = str(value).strip()
    if not _FUNCTION_NAME.match(name):
        raise ConfigError(
            f"{source}: {name!r} is not a Lambda function name; give 1-64 letters, digits, hyphens or underscores"
        )
    return name


def parse_region(value: str, source: str) -> str:
    """An AWS region name, e.g. eu-west-1."""
    region = str(value).strip()
    if not _REGION.match(region):
        raise ConfigError(f"{source}: {region!r} is not an AWS region; give one like us-east-1 or eu-west-1")
    return region


def read_env_file(path: Path, source: str) -> dict[str, str]:
    """The `KEY=VALUE` lines of a .env file, by python-dotenv's rules (quotes, `export`, comments, multi-line values),
    as AWS SAM CLI reads one for a function's environment (aws-sam-cli PR 8746). `${VAR}` is left as written: the
    function never sees the tester's environment. A missing file or a key without a value is a `ConfigError`."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise ConfigError(f"{source}: no such file {path}; give the path of a file of KEY=VALUE lines")
    values = dotenv_values(path, interpolate=False)
    bare = sorted(key for key, value in values.items() if value is None)
    if bare:
        raise ConfigError(
            f"{source}: {path} names {', '.join(bare)} without a value; write KEY=VALUE (KEY= for an empty value)"
        )
    return {key: value for key, value in values.items() if value is not None}
