"""At its exit, the process waits until Docker has each removal in hand, not until it ends (issue 17): the engine's
event log shows a removal under way (`kill`, logged by moby's `cleanupContainer` -> `daemon.Kill` inside
`ContainerRm`, daemon/delete.go and daemon/kill.go at v20.10) or over (`destroy`); `ContainerRm` takes no request
context, so the engine ends it after the process is gone. Elsewhere (`settle`: nested runs, xdist workers; Podman;
events that cannot be read) the wait is to the removals' end."""

from __future__ import annotations

import threading
import types
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from pytest_lambda_container import LambdaSession, Settings
from pytest_lambda_container.engine import hygiene
from pytest_lambda_container.engine.client import Engine
from pytest_lambda_container.engine.removals import TAKEN_OVER, Removals, remaining, since_of

CREATED = "2026-12-07T21:05:09.987654321Z"  # Docker's Created: RFC 3339, nanoseconds
EPOCH = 1796677509  # 2026-12-07T21:05:09Z


def event(action: str, container_id: str, kind: str = "container") -> dict[str, Any]:
    """An event as the engine's log gives it (decoded), e.g. `{"Type": "container", "Action": "kill", ...}`."""
    return {"Type": kind, "Action": action, "id": container_id, "Actor": {"ID": container_id, "Attributes": {}}}


def test_the_log_is_read_from_the_earliest_creation_in_whole_seconds_rounded_down():
    assert since_of([CREATED]) == EPOCH
    assert since_of([CREATED, "2026-12-07T21:05:07.5Z"]) == EPOCH - 2
    assert since_of(["2026-12-07T22:05:09+01:00"]) == EPOCH  # Podman's form, with an offset


def test_a_creation_time_that_cannot_be_read_means_the_log_cannot_tell():
    assert since_of([CREATED, ""]) is None
    assert since_of([]) is None


def test_a_kill_or_a_destroy_shows_a_removal_under_way_and_nothing_else_does():
    left = frozenset({"a", "b"})
    assert TAKEN_OVER == ("kill", "destroy")
    assert remaining(left, event("kill", "a")) == {"b"}
    assert remaining(left, event("destroy", "b")) == {"a"}
    # An exit, a crash, a start say nothing of a removal; nor does another container's kill, or a network's event.
    assert remaining(left, event("die", "a")) == left
    assert remaining(left, event("start", "a")) == left
    assert remaining(left, event("kill", "c")) == left
    assert remaining(left, event("destroy", "a", kind="network")) == left
    # Old engines name the container in "id" only.
    assert remaining(left, {"status": "kill", "Action": "kill", "id": "a"}) == {"b"}


class Events:
    """A docker SDK client whose event log holds `log`, then ends (or fails with `error`)."""

    def __init__(self, log: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.log, self.error, self.asked = log, error, []

    def events(self, **kwargs: Any):
        self.asked.append(kwargs)
        yield from self.log
        if self.error is not None:
            raise self.error


def engine(client: Any, *, podman: bool = False) -> Engine:
    return Engine(client=client, address="unix:///test", is_podman=podman, arch="amd64")


def sdk(container_id: str, created: str = CREATED) -> Any:
    return types.SimpleNamespace(id=container_id, attrs={"Created": created})


def test_the_removals_are_taken_over_once_the_log_shows_each_under_way():
    client = Events([event("kill", "a"), event("die", "a"), event("destroy", "b")])
    removals = Removals.of(engine(client), [sdk("a"), None, sdk("b")])  # None: a member never started
    assert removals is not None and removals.taken_over() is True
    (asked,) = client.asked
    assert asked["since"] == EPOCH and asked["decode"] is True
    assert asked["filters"] == {"type": "container", "container": ["a", "b"], "event": ["kill", "destroy"]}


def test_a_log_that_does_not_show_every_removal_cannot_tell():
    assert Removals.of(engine(Events([event("kill", "a")])), [sdk("a"), sdk("b")]).taken_over() is False  # type: ignore[union-attr]
    failing = Events([], error=docker.errors.APIError("500 Server Error"))
    assert Removals.of(engine(failing), [sdk("a")]).taken_over() is False  # type: ignore[union-attr]
    unreadable = Events([event("kill", "a")])
    assert Removals.of(engine(unreadable), [sdk("a", created="")]).taken_over() is False  # type: ignore[union-attr]
    assert unreadable.asked == []


def test_nothing_to_remove_is_taken_over_at_once():
    client = Events([])
    assert Removals.of(engine(client), []).taken_over() is True  # type: ignore[union-attr]
    assert client.asked == []


def test_podman_and_no_engine_are_waited_for_to_the_end():
    assert Removals.of(engine(Events([]), podman=True), [sdk("a")]) is None
    assert Removals.of(None, [sdk("a")]) is None


class Blocked:
    """Teardown work that runs until `release` is set."""

    def __init__(self) -> None:
        self.release, self.done = threading.Event(), threading.Event()

    def __call__(self) -> None:
        assert self.release.wait(30)
        self.done.set()


def test_at_exit_the_process_waits_until_the_engine_has_the_removals_not_for_their_end():
    work = Blocked()
    hygiene.finish_later(work, taken_over=lambda: True)
    try:
        hygiene._settle_at_exit()
        assert not work.done.is_set()  # still under way: the engine ends it
    finally:
        work.release.set()
        assert work.done.wait(30)


def test_at_exit_removals_the_engine_cannot_be_seen_to_have_are_waited_for_to_their_end():
    work = Blocked()

    def cannot_tell() -> bool:
        work.release.set()  # the work may end now; the exit must wait for it
        return False

    hygiene.finish_later(work, taken_over=cannot_tell)
    hygiene._settle_at_exit()
    assert work.done.is_set()


@pytest.mark.parametrize("taken_over", [None, lambda: True], ids=["plain", "taken-over"])
def test_settle_waits_for_the_removals_end_whatever_the_engine_has(taken_over):
    """Nested runs (pytester) and xdist workers settle: their removals end before they go on or report done."""
    work = Blocked()
    hygiene.finish_later(work, taken_over=taken_over)
    threading.Timer(0.05, work.release.set).start()
    hygiene.settle()
    assert work.done.is_set()


@pytest.mark.parametrize("podman", [False, True])
def test_a_session_closed_without_waiting_lets_the_exit_wait_for_the_handover_on_docker_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, podman: bool
):
    handed: list[Any] = []
    monkeypatch.setattr(hygiene, "finish_later", lambda work, taken_over=None: handed.append(taken_over))
    session = LambdaSession(Settings(rootdir=tmp_path))
    session._engine = engine(Events([event("kill", "a")]), podman=podman)
    session._containers[object()] = types.SimpleNamespace(container=sdk("a"))  # type: ignore[index]
    session.close(wait=False)
    (taken_over,) = handed
    assert (taken_over is None) is podman
    if not podman:
        assert taken_over() is True


@pytest.mark.parametrize(
    ("body", "waits"), [("pass", False), ("raise KeyboardInterrupt", True)], ids=["ends", "ctrl-c"]
)
def test_an_interrupted_session_closes_its_target_waiting_for_the_removals_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, body: str, waits: bool
):
    """Ctrl-C (or SIGTERM, which ends a run as Ctrl-C does): the removals end before pytest says it was interrupted,
    as they did before issue 17; a run that ends leaves them to finish in the background."""
    from pytest_lambda_container import targets

    waited: list[bool] = []
    close = targets.Target.close

    def recording(self: targets.Target, *, wait: bool = True) -> None:
        waited.append(wait)
        close(self, wait=wait)

    monkeypatch.setattr(targets.Target, "close", recording)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    pytester.makepyfile(f"def test_x(lambda_target):\n    {body}\n")
    url = ("--lambda-target", "url", "--lambda-url", "http://127.0.0.1:9/prod")
    result = pytester.runpytest_inprocess(*url, no_reraise_ctrlc=True)  # the inner run's Ctrl-C stays its own
    assert result.ret == (pytest.ExitCode.INTERRUPTED if waits else pytest.ExitCode.OK)
    assert waited[0] is waits  # the fixture's (pytest_unconfigure closes again, waiting: nothing is left by then)
