"""pytest-xdist: the tests of one function on one worker, so that each function's container starts once per run.

With `-n 2`, xdist's default (`--dist load`) hands tests to whichever worker is free, so a suite parametrized over
functions (`lambda_container` over several Dockerfiles, README's both-images pattern) makes every worker start every
function's container: twice the cold starts of a serial run, on the same cores. Here the controller schedules the
tests of one `lambda_container` parameter as one unit (a scope, as `--dist loadscope` schedules a module), and every
other test one by one, as `load` does; each function's container then starts on one worker, and the workers start
theirs in parallel. Tests marked `xdist_group` (xdist's own mark, which plain `load` ignores) are one unit per group,
as `--dist loadgroup` would have them. A `--dist` the user chose is left alone.

Only the workers collect, so they tell the controller which test is whose: one small file per worker, next to the
run's temporary files, named by xdist's test run id. (`--dist loadgroup` would carry it in the node ids, but under
pytest 9.2 xdist's renaming of them does not take.)

Before the workers start, the controller builds the function's image once (`BuildBeforeWorkers`).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import EngineUnavailable, LambdaContainerError

if TYPE_CHECKING:
    from .config.settings import Settings
    from .container.handoff import Starts, Takes

PARAMETER = "lambda_container"
#: The worker input that tells a worker to tell the controller its tests' functions.
GROUPING = "lambda_container_groups"
#: The worker input that names the containers the controller started ahead (`container.handoff`).
HANDOFF = "lambda_container_handoff"


def option_words(config: pytest.Config) -> list[str]:
    """The run's arguments as the user gave them: the command line's, PYTEST_ADDOPTS's and the ini file's addopts."""
    words = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    addopts = config.getini("addopts")
    words += [w for line in (addopts if isinstance(addopts, list) else [addopts]) for w in shlex.split(str(line))]
    return [str(w) for w in words]


def dist_chosen(config: pytest.Config) -> bool:
    """Whether the user gave `--dist` (command line, PYTEST_ADDOPTS, or the ini file's addopts)."""
    return any(w == "--dist" or w.startswith("--dist=") for w in option_words(config))


def used_file(folder: Path, worker: str) -> Path:
    """Where a worker writes the functions it used, in the controller's handoff folder (`container.handoff`)."""
    return folder / f"used-{worker}.json"


def groups_file(testrunuid: str, worker: str) -> Path:
    return Path(tempfile.gettempdir()) / f"pytest-lambda-container-groups-{testrunuid}-{worker}.json"


class Controller:
    """The controller's side: our scheduler where xdist would use `load`, and the workers told to report groups."""

    def __init__(self, config: pytest.Config) -> None:
        self.active = config.getoption("dist", None) == "load" and not dist_chosen(config)
        if self.active and not config.getoption("testrunuid", None):
            config.option.testrunuid = uuid.uuid4().hex  # xdist's own, made here so that the scheduler knows it

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[GROUPING] = self.active

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if not self.active:
            return None
        from .scheduling import FunctionScheduling  # xdist's schedulers: imported by a run that distributes only

        return FunctionScheduling(config, log)


def unit_of(item: pytest.Item) -> str | None:
    """The unit of work that `item` is scheduled in, or None for a unit of its own: its `xdist_group` marks' group
    (xdist's mark: tests that must share a worker, as `--dist loadgroup` honours it), else its function (its
    `lambda_container` parameter)."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    if names:
        return "xdist_group=" + "_".join(sorted(names))
    params = getattr(getattr(item, "callspec", None), "params", {})
    return f"{PARAMETER}={params[PARAMETER]}" if PARAMETER in params else None


class Worker:
    """A worker's side: which collected test is which function's, written for the controller."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        workerinput: dict[str, Any] = getattr(config, "workerinput", {})
        if not workerinput.get(GROUPING):
            return
        groups = {item.nodeid: unit for item in items if (unit := unit_of(item)) is not None}
        target = groups_file(workerinput["testrunuid"], workerinput["workerid"])
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(groups))
        partial.replace(target)  # whole or not at all, for the controller

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before xdist tells the controller this worker is done (its wrapper sends that after this hook): the
        worker's removals are over, and what it used is on record.

        The removals are not left to the worker's exit: the controller gives a worker 10 s to exit, then kills it
        (execnet), and a removal cut short leaves its container to the next run's sweep. A worker that ran tests but
        started no function records that it used none, so the next run's controller starts nothing ahead for it."""
        hygiene = sys.modules.get("pytest_lambda_container.engine.hygiene")
        if hygiene is not None:  # not imported: this worker opened no session, so it has nothing to remove
            hygiene.settle()
        workerinput: dict[str, Any] = getattr(session.config, "workerinput", {})
        given = workerinput.get(HANDOFF)
        if given and session.testscollected and not session.config.option.collectonly:
            target = used_file(Path(given["folder"]), str(workerinput["workerid"]))
            try:
                if not target.exists():
                    target.write_text("[]")
            except OSError:
                pass  # the controller's folder is gone: nothing to remember for


class BuildBeforeWorkers:
    """With pytest-xdist, the controller builds the function's image once, before the workers start, with its
    progress on the terminal (a worker's own output is never shown); the workers then find it built. Workers
    that still meet (another process's build, say) wait on the build lock instead of building twice.

    Where it can (`start_ahead_wanted`), it also starts the run's functions while the workers boot, for them to take
    (`container.handoff`): the workers' cold starts side by side, overlapping their own start, and the image built
    in the background. Else it builds before the workers start.

    The controller cannot tell which tests need the image, so it builds whenever a Dockerfile is configured;
    `-p no:lambda_container.xdist` turns this off (the workers then build, once, behind the lock, and start their
    containers themselves)."""

    def __init__(self, settings: Settings, log_of: Callable[[pytest.Config], Callable[[str], None]]) -> None:
        self.settings = settings
        self.log_of = log_of
        self.starts: Starts | None = None
        self._preparing: threading.Thread | None = None

    @pytest.hookimpl
    def pytest_configure(self, config: pytest.Config) -> None:
        """The starts ahead begin as soon as the run is configured, in a thread: the containers' creation and init
        (the run's critical path, issue 17) get under way while the controller's own session starts, instead of
        after it; `pytest_xdist_setupnodes` waits for them to have begun, before any worker is given its input."""
        if not start_ahead_wanted(config, self.settings):
            return
        # Imported here, not in the thread: an import of the docker SDK under way in two threads at once can meet
        # its circular imports half done (the terminal's header reads the engine's address from the main thread).
        from .engine import sdk

        sdk.load()  # first, as a session does: without the SDK's SSH transport where no ssh:// engine can be meant
        from .container import handoff  # noqa: F401

        log, verbose = self.log_of(config), config.option.verbose > 0
        # xdist's `-n` is its `--tx` list by now (its pytest_cmdline_main); the same count as setupnodes' specs.
        workers = len(config.getoption("tx", None) or ()) or 1
        self._preparing = threading.Thread(
            target=self._begin, args=(log, verbose, workers), name="lambda-handoff-begin", daemon=True
        )
        self._preparing.start()

    def _begin(self, log: Callable[[str], None], verbose: bool, workers: int) -> None:
        from .container import handoff, handoff_files

        starts = None
        try:
            ahead = handoff_files.functions_ahead(self.settings, workers=workers)
            # With nothing to start too: the workers record what their tests use, so that a run that used none (a
            # `-k` of tests that call no function) does not keep every later run from starting what it uses.
            starts = handoff.Starts(self.settings, log, stream_build_output=verbose)
            starts.begin(ahead)
            self.starts = starts
        except Exception:  # a run that cannot start ahead runs as without: each worker starts its own
            if starts is not None:
                starts.close()

    def _begun(self) -> None:
        """Wait until the starts ahead have begun (the workers' input names their slots), if they are under way."""
        preparing, self._preparing = self._preparing, None
        if preparing is not None:
            preparing.join()

    @pytest.hookimpl
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: Any) -> None:
        settings = self.settings
        self._begun()
        if self.starts is not None and self.starts.slots:
            return
        if settings.image is not None or not settings.dockerfile_path.is_file():
            return
        from .container.session import LambdaSession

        log = self.log_of(config)
        with LambdaSession(settings, log=log, warn=log, stream_build_output=config.option.verbose > 0) as session:
            try:
                session.image()
            except EngineUnavailable:
                pass  # a run that needs no container needs no engine either; one that does says so, once
            except LambdaContainerError as exc:
                # Not fatal here: the tests that need the image report it, once, with the whole story.
                log(f"the image did not build before the workers started ({type(exc).__name__}); the tests say why")

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        if self.starts is not None:
            # The session names the owner of the containers a worker takes (engine/hygiene.py, LABEL_SESSION).
            given = {"folder": str(self.starts.folder), "slots": self.starts.slots, "session": self.starts.session.id}
            node.workerinput[HANDOFF] = given

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        if self.starts is not None:
            self.starts.remove_given_back()

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._begun()  # a run that ended before its workers started: what it began is removed all the same
        starts, self.starts = self.starts, None
        if starts is not None:
            starts.remember()
            starts.close()


def start_ahead_wanted(config: pytest.Config, settings: Settings) -> bool:
    """Whether the controller starts the functions ahead: a run of tests (not `--co`), whose containers are each
    this run's alone and plain (not reused, kept, nor instrumented: those are each worker's own to make)."""
    from .collecting import NO_TESTS

    runs_tests = not any(getattr(config.option, name, False) for name in NO_TESTS)
    plain = not (settings.reuse or settings.keep or settings.coverage or settings.debug_port)
    return runs_tests and plain


def takes_of(config: pytest.Config) -> Takes | None:
    """In a worker: the containers the controller started ahead, for this worker's session to take."""
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    given = workerinput.get(HANDOFF)
    if not given:
        return None
    from .container.handoff import Takes

    return Takes(Path(given["folder"]), given["slots"], str(workerinput["workerid"]))
