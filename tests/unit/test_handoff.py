"""xdist: the functions the controller starts ahead for its workers (`container/handoff.py`, `parallel.py`): which
ones, remembered from the last run as the settings resolve them now, and when not at all. The starts and the taking
themselves run real containers: tests/e2e/test_scale.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from filelock import FileLock

from pytest_lambda_container.config.function import FunctionSpec, ResolvedFunction
from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.container import handoff, handoff_files
from pytest_lambda_container.container.session import LambdaSession
from pytest_lambda_container.errors import EngineUnavailable
from pytest_lambda_container.parallel import HANDOFF, BuildBeforeWorkers, start_ahead_wanted, used_file
from pytest_lambda_container.targets import ContainerTarget


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def remember(settings: Settings, *functions) -> None:
    path = handoff_files.memory_file(settings)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([handoff_files.to_json(fn) for fn in functions]))


def test_a_function_survives_its_trip_through_the_memory(project):
    settings = Settings(rootdir=project, env={"A": "1"})
    fn = FunctionSpec.of(project, handler="app.raw", env={"B": "2"}, timeout=7, build_args={"X": "y"}).resolve(settings)
    assert handoff_files.from_json(json.loads(json.dumps(handoff_files.to_json(fn))), settings) == fn


def test_a_function_remembered_under_other_settings_is_not_started(project):
    fn = FunctionSpec(handler="app.raw").resolve(Settings(rootdir=project, memory=512))
    remember(Settings(rootdir=project), fn)
    # The settings changed since: the tests would ask for another function, so a container of that one serves none.
    assert handoff_files.remembered(Settings(rootdir=project, memory=1024)) == []
    assert handoff_files.remembered(Settings(rootdir=project, memory=512)) == [fn]


def test_the_first_time_the_configured_function_is_started_ahead(project):
    settings = Settings(rootdir=project)
    assert handoff_files.functions_ahead(settings, workers=2) == [FunctionSpec().resolve(settings)]
    # Nothing configured to run (no Dockerfile, no image): nothing.
    assert handoff_files.functions_ahead(Settings(rootdir=project / "elsewhere"), workers=2) == []


def test_the_last_runs_functions_a_container_per_worker_that_used_it_at_most_one_per_worker(project):
    settings = Settings(rootdir=project)
    a, b = (FunctionSpec(handler=h).resolve(settings) for h in ("app.a", "app.b"))
    remember(settings, a, b, a, a)
    assert sorted(handoff_files.functions_ahead(settings, workers=2), key=repr) == sorted([a, a, b], key=repr)
    assert sorted(handoff_files.functions_ahead(settings, workers=4), key=repr) == sorted([a, a, a, b], key=repr)


def test_a_run_whose_workers_used_no_function_starts_none_ahead_the_next_time(project):
    # The e2e suite's own xdist run, say: its tests drive pytester runs, not the configured function.
    settings = Settings(rootdir=project)
    a = FunctionSpec(handler="app.a").resolve(settings)
    remember(settings, a)
    starts = handoff.Starts(settings, lambda _line: None)
    try:
        starts.remember()  # no worker ran a test (collect-only): the last memory stands
        assert handoff_files.functions_ahead(settings, workers=2) == [a]
        used_file(starts.folder, "gw0").write_text("[]")  # what a worker that ran tests with no function writes
        starts.remember()
        assert handoff_files.functions_ahead(settings, workers=2) == []
    finally:
        shutil.rmtree(starts.folder)


def test_the_next_run_starts_each_workers_first_function_first(project):
    """Remembered in the order the workers will want them: each one's first function, then each one's second."""
    settings = Settings(rootdir=project)
    a, b, c, d = (FunctionSpec(handler=f"app.{h}").resolve(settings) for h in "abcd")
    starts = handoff.Starts(settings, lambda _line: None)
    try:
        used_file(starts.folder, "gw0").write_text(json.dumps([handoff_files.to_json(fn) for fn in (a, c, d)]))
        used_file(starts.folder, "gw1").write_text(json.dumps([handoff_files.to_json(b)]))
        starts.remember()
        assert handoff_files.functions_ahead(settings, workers=2) == [a, b, c, d]
    finally:
        shutil.rmtree(starts.folder)


def test_the_starts_plan_one_at_a_time_in_the_order_given(project):
    """The first needed are the first planned (found or built, the emulator delivered), and so the first created.
    Each plan here fails at once: the start then leaves its slot to the worker, as any failed start does."""
    settings = Settings(rootdir=project)
    functions = [FunctionSpec(handler=f"app.{h}").resolve(settings) for h in "abcd"]
    starts = handoff.Starts(settings, lambda _line: None)
    planned: list[ResolvedFunction] = []
    under_way, overlapped = threading.Semaphore(0), threading.Event()

    def plan(fn: ResolvedFunction) -> object:
        under_way.release()
        # The first plan waits a moment for another to begin: one that did would overlap it.
        if not planned and under_way.acquire(timeout=0.3) and under_way.acquire(timeout=0.3):
            overlapped.set()
        planned.append(fn)
        raise EngineUnavailable("no engine here")

    starts.session.plan = plan  # type: ignore[method-assign]
    try:
        starts.begin(functions)
        for thread in starts._threads:
            thread.join()
        assert planned == functions
        assert not overlapped.is_set()
        # Each slot is free for its worker: one that waits on it starts its own at once.
        for slot in starts.slots:
            FileLock(str(starts.folder / f"{slot}.ready")).acquire(timeout=0)
    finally:
        shutil.rmtree(starts.folder)


def test_an_unreadable_memory_is_none(project):
    settings = Settings(rootdir=project)
    handoff_files.memory_file(settings).parent.mkdir(parents=True)
    handoff_files.memory_file(settings).write_text("{not json")
    assert handoff_files.remembered(settings) is None
    handoff_files.memory_file(settings).write_text(json.dumps([{"image": None}, 3]))
    assert handoff_files.remembered(settings) == []


def test_the_slot_names_the_function_and_which_container_of_it(project):
    settings = Settings(rootdir=project)
    a, b = (FunctionSpec(handler=h).resolve(settings) for h in ("app.a", "app.b"))
    assert len({handoff.slot_of(a, 0), handoff.slot_of(a, 1), handoff.slot_of(b, 0)}) == 3
    assert handoff.slot_of(a, 0) == handoff.slot_of(FunctionSpec(handler="app.a").resolve(settings), 0)


def options(**kw: object) -> SimpleNamespace:
    return SimpleNamespace(option=SimpleNamespace(**{"collectonly": False, "setupplan": False, **kw}))


@pytest.mark.parametrize(
    ("settings", "config", "wanted"),
    [
        ({}, options(), True),
        ({}, options(collectonly=True), False),  # --co starts nothing
        ({}, options(help=True), False),  # nor do the runs that run no test at all
        ({}, options(version=True), False),
        ({}, options(markers=True), False),
        ({}, options(showfixtures=True), False),
        ({"reuse": True}, options(), False),  # reused containers are each process's own slot
        ({"keep": True}, options(), False),
        ({"coverage": True}, options(), False),  # measured per worker
    ],
)
def test_what_is_never_started_ahead(settings, config, wanted):
    assert start_ahead_wanted(config, Settings(rootdir=Path("."), **settings)) is wanted  # type: ignore[arg-type]


def test_a_memory_not_written_for_30_days_is_pruned_when_one_is_written(project, tmp_path):
    """One file per project would pile up forever (projects moved, gone): the controller that writes its own prunes
    the others not written for `MEMORY_DAYS`."""
    settings = Settings(rootdir=project)
    folder = handoff_files.memory_file(settings).parent
    folder.mkdir(parents=True)
    old, recent = folder / "old-project.json", folder / "recent-project.json"
    for path in (old, recent):
        path.write_text("[]")
    month = handoff_files.MEMORY_DAYS * 86400
    os.utime(old, (time.time() - month - 60,) * 2)
    os.utime(recent, (time.time() - month + 3600,) * 2)
    starts = handoff.Starts(settings, lambda _line: None)
    try:
        used_file(starts.folder, "gw0").write_text("[]")
        starts.remember()
    finally:
        shutil.rmtree(starts.folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([recent.name, handoff_files.memory_file(settings).name])


def test_pruning_a_missing_folder_removes_nothing(tmp_path):
    assert handoff_files.prune_memories(tmp_path / "absent") == []


@pytest.mark.parametrize(
    ("name", "pid"),
    [
        (f"{handoff_files.FOLDER_PREFIX}1234-ab_c9x", 1234),
        (f"{handoff_files.FOLDER_PREFIX}abcd1234", None),  # the folders of before: no owner to ask about
        (f"{handoff_files.FOLDER_PREFIX}12x-abc", None),
        ("pytest-lambda-container-groups-1234-gw0.json", None),
        ("something-else-1234-abc", None),
    ],
)
def test_a_run_folder_names_its_controller(name, pid):
    assert handoff_files.owner_of(name) == pid


def test_the_run_folders_of_controllers_that_are_gone_are_swept(tmp_path):
    """A controller killed (SIGKILL) leaves its folder: the next one removes the folders whose owner is gone, and
    leaves a live controller's, its own, and anything else alone."""
    prefix = handoff_files.FOLDER_PREFIX
    dead, live, mine = (tmp_path / f"{prefix}{pid}-x1" for pid in (111, 222, os.getpid()))
    old_style, other = tmp_path / f"{prefix}abcdefgh", tmp_path / "unrelated-111-x"
    for folder in (dead, live, mine, old_style, other):
        folder.mkdir()
        (folder / "slot.json").write_text("{}")
    (tmp_path / f"{prefix}333-file").write_text("not a folder")
    removed = handoff_files.sweep_folders(tmp_path, alive=lambda pid: pid == 222)
    assert removed == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, mine, old_style, other, tmp_path / f"{prefix}333-file")
    )


def test_a_controllers_run_folder_carries_its_pid_and_it_sweeps_the_dead_ones(project):
    dead = Path(tempfile.mkdtemp(prefix=f"{handoff_files.FOLDER_PREFIX}{dead_pid()}-"))
    starts = handoff.Starts(Settings(rootdir=project), lambda _line: None)
    try:
        assert handoff_files.owner_of(starts.folder.name) == os.getpid()
        assert not dead.exists()
    finally:
        shutil.rmtree(starts.folder)
        shutil.rmtree(dead, ignore_errors=True)


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    return child.pid


class Handed:
    """A handoff whose one container is a stand-in: the session's bookkeeping of what a test used, without Docker."""

    def __init__(self) -> None:
        self.used_functions: list[ResolvedFunction] = []
        self.container = SimpleNamespace(plan=None, ensure_running=lambda: None, release=lambda: None)

    def take(self, fn, engine, log):
        return self.container

    def used(self, fn):
        self.used_functions.append(fn)

    def give_back(self, container):
        return container is self.container


def test_a_function_started_early_counts_as_used_only_once_a_test_asks_for_it(project):
    """Started while the worker collects (`-k` may then leave only tests that never call it): the next run's
    controller starts ahead only what a selected test reached."""
    settings = Settings(rootdir=project)
    handed = Handed()
    session = LambdaSession(settings, handoff=handed)
    session.image = lambda spec=None: None  # type: ignore[assignment,method-assign]  # the early start's build check
    target = ContainerTarget(settings, lambda: session)
    target.start_early()
    assert target.early is not None
    target.early.wait()
    assert handed.used_functions == []
    assert target.function() is handed.container
    assert handed.used_functions == [FunctionSpec().resolve(settings)]
    target.close()


def test_a_worker_records_each_function_it_used_once(tmp_path, project):
    settings = Settings(rootdir=project)
    fn = FunctionSpec(handler="app.a").resolve(settings)
    takes = handoff.Takes(tmp_path, [], "gw0")
    takes.used(fn)
    takes.used(fn)
    recorded = json.loads(used_file(tmp_path, "gw0").read_text())
    assert [handoff_files.from_json(item, settings) for item in recorded] == [fn]


class FakeStarts:
    """`handoff.Starts` without an engine: what the controller's plugin asks of it, recorded."""

    def __init__(self, settings: Settings, log, *, stream_build_output: bool = False) -> None:
        self.folder, self.slots, self.session = settings.rootdir / "run", [], SimpleNamespace(id="s1")
        self.calls: list[object] = []

    def begin(self, functions) -> None:
        self.calls.append((list(functions), threading.current_thread().name))
        self.slots = ["slot-a"]

    def remember(self) -> None:
        self.calls.append("remember")

    def close(self) -> None:
        self.calls.append("close")


def controller_config(**option: object) -> SimpleNamespace:
    tx = ["popen", "popen"]  # `-n 2`, as xdist's pytest_cmdline_main leaves it before pytest_configure
    return SimpleNamespace(
        option=SimpleNamespace(**{"collectonly": False, "setupplan": False, "verbose": 0, **option}),
        getoption=lambda name, default=None: tx if name == "tx" else default,
    )


def test_the_controller_begins_its_starts_at_configure_and_gives_its_workers_their_slots(project, monkeypatch):
    """Begun in a thread as soon as the run is configured (the containers' creation and init are the run's critical
    path), not when xdist sets its workers up; the workers' input names the slots once they have begun."""
    monkeypatch.setattr(handoff, "Starts", FakeStarts)
    settings = Settings(rootdir=project)
    plugin = BuildBeforeWorkers(settings, lambda _config: lambda _line: None)
    config = controller_config()
    plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert plugin._preparing is not None
    plugin._preparing.join()
    starts = plugin.starts
    assert isinstance(starts, FakeStarts)
    assert starts.calls == [([FunctionSpec().resolve(settings)], "lambda-handoff-begin")]
    plugin.pytest_xdist_setupnodes(config, specs=[object(), object()])  # type: ignore[arg-type]
    node = SimpleNamespace(workerinput={})
    plugin.pytest_configure_node(node)
    assert node.workerinput[HANDOFF] == {"folder": str(project / "run"), "slots": ["slot-a"], "session": "s1"}
    plugin.pytest_unconfigure(config)  # type: ignore[arg-type]
    assert starts.calls[1:] == ["remember", "close"]


def test_a_controller_that_cannot_start_ahead_leaves_its_workers_to_start_their_own(project, monkeypatch):
    class Failing(FakeStarts):
        def begin(self, functions) -> None:
            failed.append(self)
            raise OSError("no room for the run folder's locks")

    failed: list[FakeStarts] = []
    monkeypatch.setattr(handoff, "Starts", Failing)
    plugin = BuildBeforeWorkers(Settings(rootdir=project, image="example:1"), lambda _config: lambda _line: None)
    config = controller_config()
    plugin.pytest_configure(config)  # type: ignore[arg-type]
    plugin.pytest_xdist_setupnodes(config, specs=[object(), object()])  # type: ignore[arg-type]
    assert plugin.starts is None and failed[0].calls == ["close"]  # what it had begun is removed
    node = SimpleNamespace(workerinput={})
    plugin.pytest_configure_node(node)
    assert HANDOFF not in node.workerinput
    plugin.pytest_unconfigure(config)  # type: ignore[arg-type]


def test_a_controller_of_a_run_of_no_tests_begins_nothing(project, monkeypatch):
    monkeypatch.setattr(handoff, "Starts", FakeStarts)
    plugin = BuildBeforeWorkers(Settings(rootdir=project), lambda _config: lambda _line: None)
    plugin.pytest_configure(controller_config(help=True))  # type: ignore[arg-type]
    assert plugin._preparing is None and plugin.starts is None


def test_a_worker_given_the_controllers_containers_leaves_the_sweep_to_the_controller(project, monkeypatch):
    """The controller sweeps as it starts ahead and at its end: the workers' sweeps would be two more looks at every
    container of ours on the engine while the containers they wait for init. A session of its own sweeps."""
    from pytest_lambda_container.container import session as session_module

    engine = SimpleNamespace(reach=SimpleNamespace(same_host=True))
    monkeypatch.setattr(session_module, "connect", lambda: engine)
    swept: list[object] = []
    monkeypatch.setattr(session_module.hygiene, "reap_orphans", lambda found: swept.append(found) or [])
    monkeypatch.setattr(handoff_files, "sweep_folders", lambda: [])
    settings = Settings(rootdir=project)
    worker = LambdaSession(settings, handoff=Handed())
    assert worker.engine() is engine and worker._sweeping is None
    alone = LambdaSession(settings)
    assert alone.engine() is engine and alone._sweeping is not None
    alone._sweeping.join()
    assert swept == [engine]


def test_a_controller_with_nothing_to_start_ahead_asks_no_engine_at_its_end(project):
    """Made all the same (its workers record what their tests use, for the next run): its end lists nothing, since
    no container carries its labels."""
    starts = handoff.Starts(Settings(rootdir=project), lambda _line: None)
    starts.begin([])
    starts.close()
    assert starts.slots == [] and not starts.folder.exists()
    assert starts.session._engine is None and starts.session._engine_error is None
