"""xdist: the functions the controller starts ahead for its workers (`container/handoff.py`, `parallel.py`): which
ones, remembered from the last run as the settings resolve them now, and when not at all. The starts and the taking
themselves run real containers: tests/e2e/test_scale.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_lambda_container.config.function import FunctionSpec
from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.container import handoff
from pytest_lambda_container.parallel import start_ahead_wanted, used_file


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def remember(settings: Settings, *functions) -> None:
    path = handoff.memory_file(settings)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([handoff.to_json(fn) for fn in functions]))


def test_a_function_survives_its_trip_through_the_memory(project):
    settings = Settings(rootdir=project, env={"A": "1"})
    fn = FunctionSpec.of(project, handler="app.raw", env={"B": "2"}, timeout=7, build_args={"X": "y"}).resolve(settings)
    assert handoff.from_json(json.loads(json.dumps(handoff.to_json(fn))), settings) == fn


def test_a_function_remembered_under_other_settings_is_not_started(project):
    fn = FunctionSpec(handler="app.raw").resolve(Settings(rootdir=project, memory=512))
    remember(Settings(rootdir=project), fn)
    # The settings changed since: the tests would ask for another function, so a container of that one serves none.
    assert handoff.remembered(Settings(rootdir=project, memory=1024)) == []
    assert handoff.remembered(Settings(rootdir=project, memory=512)) == [fn]


def test_the_first_time_the_configured_function_is_started_ahead(project):
    settings = Settings(rootdir=project)
    assert handoff.functions_ahead(settings, workers=2) == [FunctionSpec().resolve(settings)]
    # Nothing configured to run (no Dockerfile, no image): nothing.
    assert handoff.functions_ahead(Settings(rootdir=project / "elsewhere"), workers=2) == []


def test_the_last_runs_functions_a_container_per_worker_that_used_it_at_most_one_per_worker(project):
    settings = Settings(rootdir=project)
    a, b = (FunctionSpec(handler=h).resolve(settings) for h in ("app.a", "app.b"))
    remember(settings, a, b, a, a)
    assert sorted(handoff.functions_ahead(settings, workers=2), key=repr) == sorted([a, a, b], key=repr)
    assert sorted(handoff.functions_ahead(settings, workers=4), key=repr) == sorted([a, a, a, b], key=repr)


def test_a_run_whose_workers_used_no_function_starts_none_ahead_the_next_time(project):
    # The e2e suite's own xdist run, say: its tests drive pytester runs, not the configured function.
    settings = Settings(rootdir=project)
    a = FunctionSpec(handler="app.a").resolve(settings)
    remember(settings, a)
    starts = handoff.Starts(settings, lambda _line: None)
    try:
        starts.remember()  # no worker ran a test (collect-only): the last memory stands
        assert handoff.functions_ahead(settings, workers=2) == [a]
        used_file(starts.folder, "gw0").write_text("[]")  # what a worker that ran tests with no function writes
        starts.remember()
        assert handoff.functions_ahead(settings, workers=2) == []
    finally:
        shutil.rmtree(starts.folder)


def test_an_unreadable_memory_is_none(project):
    settings = Settings(rootdir=project)
    handoff.memory_file(settings).parent.mkdir(parents=True)
    handoff.memory_file(settings).write_text("{not json")
    assert handoff.remembered(settings) is None
    handoff.memory_file(settings).write_text(json.dumps([{"image": None}, 3]))
    assert handoff.remembered(settings) == []


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
        ({"reuse": True}, options(), False),  # reused containers are each process's own slot
        ({"keep": True}, options(), False),
        ({"coverage": True}, options(), False),  # measured per worker
    ],
)
def test_what_is_never_started_ahead(settings, config, wanted):
    assert start_ahead_wanted(config, Settings(rootdir=Path("."), **settings)) is wanted  # type: ignore[arg-type]
