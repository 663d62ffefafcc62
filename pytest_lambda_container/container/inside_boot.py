"""Delivered into the function's container as `sitecustomize.py` (container/inside.py), first on PYTHONPATH, so that
every Python process there runs it at start-up, whatever the image: it measures coverage and, in the runtime, listens
for a debugger, each when the plugin asks by environment variable. It runs on the image's Python, not the tests':
standard library only, and syntax that Python 3.8 reads.

Where the emulator's budget is longer than the function's timeout (room for an init, `warmup`), the deadline the
runtime tells the handler is moved back by the difference (env PYTEST_LAMBDA_DEADLINE_SHIFT_MS), so that
`context.get_remaining_time_in_millis()` counts from the function's timeout, as on Lambda.

Coverage is saved after every invocation (the emulator SIGKILLs the runtime on a timeout or a reset, and the memory
watch kills it too: nothing would be saved at exit), by wrapping the handler the runtime interface client
(awslambdaric, in AWS base images and custom ones alike) gets from `bootstrap._get_handler`.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import time
import types
from collections.abc import Sequence
from typing import Any, Callable

#: Where the data goes (a tmpfs of its own), the files to measure (container paths; `dir/*` for a folder), branches.
COVERAGE_DIR = "PYTEST_LAMBDA_COVERAGE_DIR"
COVERAGE_INCLUDE = "PYTEST_LAMBDA_COVERAGE_INCLUDE"
COVERAGE_BRANCH = "PYTEST_LAMBDA_COVERAGE_BRANCH"
#: The debugger's port inside the container, and how long the first call waits for it to attach.
DEBUG_PORT = "PYTEST_LAMBDA_DEBUG_PORT"
DEBUG_WAIT = "PYTEST_LAMBDA_DEBUG_WAIT"
#: How much earlier than the emulator's deadline the function's is, in ms (the emulator's budget minus the timeout).
DEADLINE_SHIFT = "PYTEST_LAMBDA_DEADLINE_SHIFT_MS"
RUNTIME_MODULE = "awslambdaric.bootstrap"

_coverage: Any = None


def _say(line: str) -> None:
    print(f"pytest-lambda-container: {line}", file=sys.stderr, flush=True)


def _start_coverage() -> None:
    global _coverage
    folder = os.environ.get(COVERAGE_DIR)
    if not folder:
        return
    try:
        import coverage

        _coverage = coverage.Coverage(
            data_file=os.path.join(folder, ".coverage"),
            data_suffix=True,
            include=[p for p in os.environ.get(COVERAGE_INCLUDE, "").split(os.pathsep) if p] or None,
            branch=os.environ.get(COVERAGE_BRANCH) == "1",
            config_file=False,
        )
        _coverage.start()
    except Exception as exc:  # the function must run all the same
        _coverage = None
        _say(f"coverage could not start in the container ({type(exc).__name__}: {exc})")


def _save() -> None:
    if _coverage is not None:
        try:
            _coverage.save()
        except Exception as exc:
            _say(f"coverage could not save its data ({type(exc).__name__}: {exc})")


def _listen() -> None:
    port = os.environ.get(DEBUG_PORT)
    if not port:
        return
    try:
        import debugpy

        # All interfaces inside the container: the engine publishes the port on the host's loopback only.
        debugpy.listen(("0.0.0.0", int(port)))
    except Exception as exc:
        _say(f"the debugger could not listen on port {port} ({type(exc).__name__}: {exc})")


_waited = False


def _wait_for_debugger() -> None:
    """Once, before the first call: debugpy's own `wait_for_client` has no timeout, so this one is bounded."""
    global _waited
    if _waited or not os.environ.get(DEBUG_PORT) or "debugpy" not in sys.modules:
        return
    _waited = True
    import debugpy

    limit = float(os.environ.get(DEBUG_WAIT) or 0)
    deadline = time.monotonic() + limit
    while not debugpy.is_client_connected():
        if time.monotonic() > deadline:
            _say(f"no debugger attached within {limit:g}s; the call runs without one")
            return
        time.sleep(0.1)


def _keep_function_deadline(context: Any) -> None:
    """The emulator's deadline (the call's start plus its budget: aws-lambda-rie sets `Lambda-Runtime-Deadline-Ms` as
    the call begins, before any re-init) moved back to the call's start plus the function's timeout. awslambdaric's
    `LambdaContext` counts the remaining time from `_epoch_deadline_time_in_ms`."""
    shift = int(os.environ.get(DEADLINE_SHIFT) or 0)
    deadline = getattr(context, "_epoch_deadline_time_in_ms", None)
    if shift > 0 and isinstance(deadline, (int, float)):
        context._epoch_deadline_time_in_ms = deadline - shift


def _measured(get_handler: Callable[[str], Any]) -> Callable[[str], Any]:
    @functools.wraps(get_handler)
    def wrapped(name: str) -> Any:
        handler = get_handler(name)

        @functools.wraps(handler)
        def call(event: Any, context: Any) -> Any:
            _keep_function_deadline(context)
            _wait_for_debugger()
            try:
                return handler(event, context)
            finally:
                _save()

        return call

    return wrapped


def _patch_runtime(module: types.ModuleType) -> None:
    get_handler = getattr(module, "_get_handler", None)
    if callable(get_handler):
        module._get_handler = _measured(get_handler)  # type: ignore[attr-defined]
    else:
        _say(f"{RUNTIME_MODULE} has no _get_handler: coverage is saved only when the runtime exits")
    _listen()


class _RuntimeFinder(importlib.abc.MetaPathFinder):
    """Patches the runtime client's bootstrap as it is imported: only the runtime imports it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != RUNTIME_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            _patch_runtime(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _image_sitecustomize() -> None:
    """Run the `sitecustomize` this one shadows (the image's, if it has one), as Python would have."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "sitecustomize.py")
        if os.path.abspath(entry or ".") != here and os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_image_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                try:
                    spec.loader.exec_module(importlib.util.module_from_spec(spec))
                except Exception as exc:
                    _say(f"the image's {candidate} failed ({type(exc).__name__}: {exc})")
            return


if os.environ.get(COVERAGE_DIR) or os.environ.get(DEBUG_PORT) or os.environ.get(DEADLINE_SHIFT):
    _start_coverage()
    sys.meta_path.insert(0, _RuntimeFinder())
_image_sitecustomize()
