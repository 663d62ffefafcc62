"""The working directory an in-process function runs in: its task root, as on Lambda, and the tests' own between calls.

Lambda starts the runtime in the function's task root (`LAMBDA_TASK_ROOT`, /var/task: "the path to your Lambda
function code", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), so code that opens
`templates/` or `.env` by a relative path finds them there. The working directory is one per process, while the
function runs in a thread of its own: the test's thread, which waits for the call anyway, moves into the task root for
the import and each call and moves back when the answer is in, so the tests between calls see their own. Calls of
different in-process functions from several threads at once take turns here, since two task roots cannot both be the
process's; a handler that calls another in-process function keeps its own task root for it (its caller holds the
turn). A call the caller stopped waiting for (`timeout=`) runs on in the tests' directory.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

_LOCK = threading.RLock()
#: True in a function's own thread (`enter_function`): the process already works in a task root there.
_INSIDE: ContextVar[bool] = ContextVar("lambda_function_inside", default=False)


def enter_function() -> None:
    """Mark the calling thread's context as a function's (its worker thread's, before its import and calls)."""
    _INSIDE.set(True)


@contextlib.contextmanager
def task_root(folder: Path | None) -> Iterator[None]:
    """Within the block the process works in `folder` (nothing changes when None); after it, where it was before."""
    if folder is None or _INSIDE.get():
        yield
        return
    with _LOCK:
        before = os.getcwd()
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(before)
