"""One build per content tag: the one who waits says so (no Docker needed)."""

from __future__ import annotations

import threading

from filelock import FileLock

from pytest_lambda_container.build import lock as buildlock
from pytest_lambda_container.build.progress import BuildProgress


def test_a_second_builder_of_the_same_tag_waits_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path))
    tag = "pytest-lambda-container/fn:0123456789abcdef"
    said: list[BuildProgress] = []
    inside = threading.Event()

    def second_worker() -> None:
        with buildlock.held(tag, said.append):
            inside.set()

    with FileLock(buildlock.lock_path(tag)):  # the first worker, building
        worker = threading.Thread(target=second_worker)
        worker.start()
        assert not inside.wait(0.5)
        assert [p.text for p in said] == [f"waiting for another worker's build of {tag}"]
    worker.join(10)
    assert inside.is_set()


def test_builders_of_different_tags_do_not_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path))
    said: list[BuildProgress] = []
    with buildlock.held("pytest-lambda-container/fn:1", said.append):
        with buildlock.held("pytest-lambda-container/fn:2", said.append):
            pass
    assert said == []
