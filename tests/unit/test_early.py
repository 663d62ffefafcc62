"""The start run in the background while pytest collects (container/early.py, targets.ContainerTarget.start_early):
what a discard removes, and when a test's claim takes it back. Threads and events, no Docker."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from pytest_lambda_container.config.settings import Settings
from pytest_lambda_container.container.early import EarlyStart
from pytest_lambda_container.targets import ContainerTarget


def test_a_discard_asked_before_the_start_ends_removes_what_it_started_once_it_has():
    release, removed = threading.Event(), []
    early = EarlyStart(lambda: release.wait(10) and "container", discard=lambda: removed.append(early.result))
    early.discard()
    assert removed == []  # not while it starts
    release.set()
    early._thread.join(10)
    assert removed == ["container"]


def test_a_test_that_claims_the_start_before_it_ends_keeps_it():
    release, removed = threading.Event(), []
    early = EarlyStart(lambda: release.wait(10) and "container", discard=lambda: removed.append("gone"))
    early.discard()
    release.set()
    early.wait()
    assert early.result == "container" and removed == []


def test_the_preparation_is_held_for_and_a_failure_is_raised_at_wait():
    def fail() -> object:
        raise RuntimeError("no engine")

    early = EarlyStart(fail, discard=lambda: None, prepare=lambda: None)
    assert early.hold(10)
    try:
        early.wait()
    except RuntimeError as exc:
        assert str(exc) == "no engine"
    else:
        raise AssertionError("the start's failure is raised at wait()")


class FakeSession:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def prepare(self) -> None:
        self.calls.append("prepare")

    def container(self, *, ahead: bool = False) -> Any:
        self.calls.append(f"container ahead={ahead}")
        return "early container"

    def drop(self) -> None:
        self.calls.append("drop")

    def close(self, *, wait: bool = True) -> None:
        self.calls.append("close")


def test_a_discarded_early_start_drops_its_own_container_and_leaves_the_session_open(tmp_path: Path):
    """The session may meanwhile serve a test's other function (a factory's): closing it removed that one too."""
    session = FakeSession()
    target = ContainerTarget(Settings(rootdir=tmp_path), lambda: session)  # type: ignore[arg-type,return-value]
    early = target.start_early()
    early._thread.join(10)
    early.discard()
    assert session.calls == ["prepare", "container ahead=True", "drop"]


def test_a_session_closed_in_the_background_has_its_sweep_said_before_it_returns(tmp_path: Path):
    """What the orphan sweep says comes above pytest's summary, never under it (pytester's parse of the summary
    broke on such a line): `close(wait=False)` returns once the sweep has ended; only the removals go on."""
    from pytest_lambda_container.container.session import LambdaSession
    from pytest_lambda_container.engine import hygiene

    said: list[str] = []
    session = LambdaSession(Settings(rootdir=tmp_path), log=said.append)
    session._sweeping = threading.Thread(target=lambda: (threading.Event().wait(0.3), said.append("removed x")))
    session._sweeping.start()
    session.close(wait=False)
    assert said == ["removed x"]
    hygiene.settle()
