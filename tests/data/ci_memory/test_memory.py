"""Run by tests/e2e/test_where_ci_runs.py inside a tests container with the host's socket mounted (not collected by
this repository's own runs): Lambda's memory, /tmp apart, where the host's cgroup files are out of reach."""

from __future__ import annotations

import pytest

from pytest_lambda_container.errors import FunctionOutOfMemory

IMAGE = "tests/images/Dockerfile.aws-sandbox"


def test_past_the_memory_is_out_of_memory_and_the_next_call_works(lambda_container_factory):
    fn = lambda_container_factory(dockerfile=IMAGE)
    assert fn.plan.memwatch is not None  # the watch runs in the function's container
    with pytest.raises(FunctionOutOfMemory) as info:
        fn.invoke_event({"action": "alloc", "mb": 700})
    assert "went past its 512 MB (stopped at 5" in str(info.value)
    assert fn.invoke_event({"action": "alloc", "mb": 100}) == {"allocated": 100}


def test_tmp_does_not_take_the_functions_memory(lambda_container_factory):
    fn = lambda_container_factory(dockerfile=IMAGE)
    assert fn.invoke_event({"action": "tmp_and_heap", "tmp": 450, "heap": 450}) == {"tmp": 450, "heap": 450}
