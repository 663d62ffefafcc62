"""A session closed without waiting (the plugin's, at the session's end: issue 17) is closed at once, and its
removals finish in the background, waited for by `hygiene.settle` (the process's exit waits until Docker has them in
hand: test_removals.py)."""

from __future__ import annotations

import contextlib
import threading
import types
from pathlib import Path

from pytest_lambda_container import LambdaSession, Settings
from pytest_lambda_container.engine import hygiene


class SlowToRemove:
    """A container whose removal takes until `release` is set."""

    def __init__(self, release: threading.Event, removed: list[object]) -> None:
        self.release, self.removed = release, removed

    def remove(self) -> None:
        assert self.release.wait(30)
        self.removed.append(self)


def test_a_session_closed_without_waiting_serves_nothing_and_its_removals_finish_by_settle(tmp_path: Path):
    release, removed = threading.Event(), []
    session = LambdaSession(Settings(rootdir=tmp_path))
    slow = SlowToRemove(release, removed)
    session._containers[object()] = slow  # type: ignore[index]
    session.close(wait=False)
    assert session.containers == [] and removed == []  # closed at once; the removal is still under way
    release.set()
    hygiene.settle()
    assert removed == [slow]
    hygiene.settle()  # nothing left: returns at once


def test_a_kept_session_is_ended_in_place(tmp_path: Path):
    ended: list[object] = []

    class Kept:
        name, url, image = "plc-x", "http://127.0.0.1:9", types.SimpleNamespace(ref="fn:x")

        def release(self) -> None:
            ended.append(self)

    said: list[str] = []
    session = LambdaSession(Settings(rootdir=tmp_path, keep=True), log=said.append)
    kept = Kept()
    session._containers[object()] = kept  # type: ignore[index]
    session.close(wait=False)
    assert ended == [kept] and "keeping container plc-x" in said[0]


def test_a_nested_runs_containers_still_live_are_removed_by_its_session_id():
    """What a run nested in another (pytester) still has live at its end goes then, not at the process's exit (by
    when a proxy or context its test set up may be gone); another session's stay."""

    class Live:
        def __init__(self, session_id: str) -> None:
            self.plan = types.SimpleNamespace(labels={hygiene.LABEL_SESSION: session_id})
            self.removed = False

        def remove(self) -> None:
            self.removed = True
            hygiene.unregister(self)

    mine, other = Live("nested"), Live("outer")
    hygiene.register(mine)
    hygiene.register(other)
    try:
        hygiene.remove_session("nested")
        assert mine.removed and not other.removed
        assert mine not in hygiene.live() and other in hygiene.live()
    finally:
        hygiene.unregister(mine)
        hygiene.unregister(other)


class HiccupContainer:
    """A docker SDK container whose `remove` fails `hiccups` times as requests does when another thread changes
    os.environ while it reads the proxies (KeyError: 'PYTEST_CURRENT_TEST', seen in CI), then works."""

    id, name = "c0ffee", "plc-hiccup"

    def __init__(self, hiccups: int) -> None:
        self.hiccups, self.removed = hiccups, False

    def remove(self, force: bool = False) -> None:
        if self.hiccups:
            self.hiccups -= 1
            raise KeyError("PYTEST_CURRENT_TEST")
        self.removed = force


def docker_container(sdk_container: HiccupContainer, said: list[str]):
    from pytest_lambda_container.container.docker import DockerContainer

    engine = types.SimpleNamespace(errors=lambda doing: contextlib.nullcontext())
    plan = types.SimpleNamespace(harvest=None)
    return DockerContainer(engine, plan, sdk_container, log=said.append)  # type: ignore[arg-type]


def test_a_removal_that_meets_the_environment_changing_is_tried_again_and_removes():
    said: list[str] = []
    sdk_container = HiccupContainer(hiccups=1)
    docker_container(sdk_container, said).remove()
    assert sdk_container.removed and said == []


def test_a_removal_that_keeps_failing_names_the_leftover_and_the_background_teardown_goes_on(tmp_path: Path):
    said: list[str] = []
    stuck, fine = HiccupContainer(hiccups=2), HiccupContainer(hiccups=0)
    session = LambdaSession(Settings(rootdir=tmp_path))
    session._containers[object()] = docker_container(stuck, said)  # type: ignore[index]
    session._containers[object()] = docker_container(fine, said)  # type: ignore[index]
    session.close(wait=False)
    hygiene.settle()
    assert not stuck.removed and fine.removed
    assert len(said) == 1 and "could not remove container plc-hiccup" in said[0]
    assert "docker rm -f plc-hiccup" in said[0]


def test_a_sessions_containers_are_removed_all_at_once(tmp_path: Path):
    """Each removal is ~0.25 s of the engine's (the kill, the network's teardown): three functions' containers removed
    one after the other would cost three times that at the session's end (and at the process's exit, which waits
    until the engine has the last: engine/removals.py). Here each removal waits for the others to have begun."""
    together = threading.Barrier(3, timeout=10)
    removed: list[object] = []

    class Together:
        def remove(self) -> None:
            together.wait()
            removed.append(self)

    session = LambdaSession(Settings(rootdir=tmp_path))
    containers = [Together() for _ in range(3)]
    for container in containers:
        session._containers[object()] = container  # type: ignore[index]
    session.close()
    assert sorted(map(id, removed)) == sorted(map(id, containers))
