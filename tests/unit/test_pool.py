"""`FunctionPool` (`--lambda-concurrency N`): each call on an idle container, a new one started while fewer than N
exist, a call past N waiting for a free one (never two calls at once on one container: the classic emulator panics
on a second concurrent POST, ../shared/EMULATOR.md), the report of the container that served the call."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_lambda_container import ConfigError, ContainerError
from pytest_lambda_container.config.values import parse_concurrency
from pytest_lambda_container.container.pool import FunctionPool


class FakeContainer:
    """A container that takes `delay` per call and records the most calls it ever had at once."""

    def __init__(self, name: str, delay: float = 0.0) -> None:
        self.name = self.id = name
        self.image = SimpleNamespace(ref="fn:latest")
        self.delay = delay
        self.in_flight = self.most_at_once = self.invocations = self.restarts = 0
        self.removed = self.released = False
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def last_report(self) -> Any:
        return getattr(self._local, "last", None)

    def invoke_event(self, event: Any, *, timeout: float | None = None) -> Any:
        with self._lock:
            self.in_flight += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)
            self.invocations += 1
        self._local.last = f"report of {event} by {self.name}"
        try:
            time.sleep(self.delay)
            if event == "boom":
                raise ContainerError("boom")
            return (event, self.name)
        finally:
            with self._lock:
                self.in_flight -= 1

    def remove(self) -> None:
        self.removed = True

    def release(self) -> None:
        self.released = True


def pool_of(size: int, delay: float = 0.0) -> tuple[FunctionPool, list[FakeContainer]]:
    started = [FakeContainer("c0", delay)]

    def start() -> Any:
        started.append(FakeContainer(f"c{len(started)}", delay))
        return started[-1]

    return FunctionPool(started[0], size, start), started  # type: ignore[arg-type]


def call_at_once(pool: FunctionPool, events: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(events))
    results: list[Any] = [None] * len(events)

    def call(i: int) -> None:
        barrier.wait()
        results[i] = (pool.invoke_event(events[i]), pool.last_report)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(events))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_serial_calls_use_the_one_warm_container():
    pool, started = pool_of(4)
    assert [pool.invoke_event(i) for i in range(5)] == [(i, "c0") for i in range(5)]
    assert len(started) == 1 and pool.invocations == 5


def test_eight_calls_on_four_containers_never_two_at_once_on_one():
    pool, started = pool_of(4, delay=0.05)
    results = call_at_once(pool, list(range(8)))
    assert len(started) == 4 and [c.most_at_once for c in started] == [1, 1, 1, 1]
    assert sum(c.invocations for c in started) == 8
    # Each thread's report is the one of its own call, on the container that served it.
    for i, ((event, name), report) in enumerate(results):
        assert event == i and report == f"report of {i} by {name}"


def test_a_call_past_the_size_waits_rather_than_fails():
    pool, started = pool_of(2, delay=0.05)
    results = call_at_once(pool, list(range(6)))
    assert len(started) == 2 and all(r is not None for r in results)


def test_a_failed_call_frees_its_container():
    pool, _ = pool_of(1)
    with pytest.raises(ContainerError):
        pool.invoke_event("boom")
    assert pool.invoke_event(1) == (1, "c0")


def test_a_failed_start_fails_that_call_only():
    first = FakeContainer("c0", delay=0.2)
    attempts = []

    def start() -> Any:
        attempts.append(1)
        raise ContainerError("no room")

    pool = FunctionPool(first, 2, start)  # type: ignore[arg-type]
    outcomes: list[Any] = []
    t = threading.Thread(target=lambda: outcomes.append(pool.invoke_event("slow")))
    t.start()
    time.sleep(0.05)
    with pytest.raises(ContainerError, match="no room"):
        pool.invoke_event("second")
    t.join()
    assert outcomes == [("slow", "c0")] and pool.invoke_event(3) == (3, "c0")


def test_removed_pool_removes_every_container_and_refuses_calls():
    pool, started = pool_of(3, delay=0.02)
    call_at_once(pool, [1, 2, 3])
    pool.remove()
    assert all(c.removed for c in started)
    with pytest.raises(ContainerError, match="removed"):
        pool.invoke_event(1)


def test_release_lets_go_of_every_container():
    pool, started = pool_of(2, delay=0.02)
    call_at_once(pool, [1, 2])
    pool.release()
    assert all(c.released and not c.removed for c in started)


@pytest.mark.parametrize("raw, expected", [("1", 1), ("4", 4), (64, 64)])
def test_concurrency_values(raw, expected):
    assert parse_concurrency(raw, "option --lambda-concurrency") == expected


@pytest.mark.parametrize("raw", ["0", "-2", "65", "two", "1.5"])
def test_bad_concurrency_says_what_to_give(raw):
    with pytest.raises(ConfigError, match=r"--lambda-concurrency: concurrency .*(1 to 64|not a number)"):
        parse_concurrency(raw, "option --lambda-concurrency")
