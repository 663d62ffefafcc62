"""The plugin's numbers, each in one place with the reason for its value: the defaults of the port and the timeout,
how long past a function's timeout each caller waits before it calls the function stuck, and how a call the
emulator refused during a reset is sent again; and where the plugin keeps its cache, kept from piling up."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: The emulator's host port on 127.0.0.1: the port AWS's documentation publishes aws-lambda-rie on
#: (https://docs.aws.amazon.com/lambda/latest/dg/images-test.html: `-p 9000:8080`), so copied curl lines work.
DEFAULT_PORT = 9000
#: The function's timeout: the emulator's own default when AWS_LAMBDA_FUNCTION_TIMEOUT is unset (aws-lambda-rie:
#: `GetenvWithDefault("AWS_LAMBDA_FUNCTION_TIMEOUT", "300")`), so a test behaves as a plain `docker run` of the image.
DEFAULT_TIMEOUT = 300.0
#: Lambda's limit on a function's timeout (15 minutes:
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
MAX_TIMEOUT = 900.0

#: Lambda's limit on an init that does not count against the function's timeout; a longer one is retried at the first
#: invocation under the function's timeout (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
INIT_LIMIT = 10.0
#: How long past the function's timeout we wait for the emulator: it answers a call past the timeout itself ("Task
#: timed out after"), after resetting the runtime, which takes seconds on a loaded machine; longer, it is stuck.
EMULATOR_MARGIN = 10.0
#: How long we wait to connect to the emulator on loopback: it accepts at once when it is there at all.
LOOPBACK_CONNECT = 5.0
#: How long past the function's timeout we wait for a deployed function (Invoke API or URL): a cold start's init
#: (up to 10 s on Lambda, not counted against the timeout) and the network. Past it, the deployed function's own
#: timeout must be longer than the one we were told.
DEPLOYED_MARGIN = 30.0
#: How often a call the emulator refused while it reset the runtime (`outcome.canceled_by_a_reset`) is sent again,
#: and how long it waits first: a reset ends within a few hundred milliseconds.
RESET_RETRIES = 5
RESET_PAUSE = 0.2


def cache_dir() -> Path:
    """The plugin's own cache: $PYTEST_LAMBDA_CONTAINER_CACHE, or $XDG_CACHE_HOME (~/.cache)/pytest-lambda-container."""
    explicit = os.environ.get("PYTEST_LAMBDA_CONTAINER_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pytest-lambda-container"


def prune_cache(folder: Path, days: float, *, now: float | None = None) -> list[Path]:
    """Remove the files in `folder` (one of the cache's) not written (or touched) for `days`; those removed. Best
    effort: another run may be pruning the same folder."""
    oldest = (time.time() if now is None else now) - days * 86400
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        try:
            if entry.is_file() and entry.stat().st_mtime < oldest:  # also the part-written file of a killed run
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # removed meanwhile by another run's pruning
    return removed
