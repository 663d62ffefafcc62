"""The init retried at an invocation, under the function's timeout, as on Lambda: real images, the real emulator.

Lambda: "The Init phase is limited to 10 seconds. If all three tasks do not complete within 10 seconds, Lambda retries
the Init phase at the time of the first function invocation with the configured function timeout"; after a crash, a
timeout or running out of memory in the Invoke phase, Lambda resets the environment and the next invocation inits
again (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html), under the function's timeout:
a short-timeout function whose init does not fit never recovers (astuyve/lambda-new-timeout-crash).
"""

from __future__ import annotations

import uuid

import pytest

from pytest_lambda_container import FunctionTimeout
from pytest_lambda_container.container import warmup
from pytest_lambda_container.errors import FunctionError, FunctionOutOfMemory

from .conftest import IMAGES

pytestmark = pytest.mark.docker


def test_an_init_past_10s_is_retried_at_the_first_call_and_passes_where_the_timeout_covers_it(
    lambda_container_factory,
):
    """Lambda's own 10 s limit, once (one image style: 21 s): an 11 s init is ended at 10 s and retried within the
    first call's 13 s."""
    fn = lambda_container_factory(dockerfile=IMAGES / "Dockerfile.aws-coldstart", env={"INIT_SLEEP": "11"}, timeout=13)
    result = fn.invoke_event({})
    # The warm-up's import was ended before it finished: the module was imported once, in the first call.
    assert result["imports"] == 1
    assert fn.last_report.init_duration_ms > 10_000
    assert fn.invoke_event({})["imports"] == 1
    assert fn.last_report.init_duration_ms is None


@pytest.fixture
def init_limit(monkeypatch):
    """Lambda's 10 s init limit, shortened for this test (the real one is tested once, above): `init_limit(s)`, which
    returns an environment entry that makes the test's function its own: in this process only is the limit shortened,
    and under xdist the controller starts ahead the functions the last run's workers used (container/handoff.py)."""

    def shorten(seconds: float) -> dict[str, str]:
        monkeypatch.setattr(warmup, "INIT_LIMIT", seconds)
        return {"PLC_E2E_OWN_FUNCTION": uuid.uuid4().hex}

    return shorten


def test_an_init_past_the_limit_passes_where_the_timeout_covers_its_retry(coldstart, init_limit):
    own = init_limit(1.0)
    fn = coldstart(env={"INIT_SLEEP": "2", "CASE": "retry-fits", **own}, timeout=6)
    assert fn.invoke_event({})["imports"] == 1
    assert fn.last_report.init_duration_ms > 2_000


def test_an_init_past_the_limit_times_out_where_the_timeout_does_not_cover_its_retry(coldstart, init_limit):
    """The emulator, given room for the init (its budget, 2 s, past the 1 s timeout), is ended at 1 s by the plugin."""
    own = init_limit(1.0)
    fn = coldstart(env={"INIT_SLEEP": "2", "CASE": "retry-too-long", **own}, timeout=1)
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 1\.00 seconds"):
        fn.invoke_event({})
    # Retried again at the next call, under the same timeout: it never fits.
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 1\.00 seconds"):
        fn.invoke_event({})


def _crash(fn):
    with pytest.raises(FunctionError) as info:
        fn.invoke_event({"exit": 3})
    assert info.value.error_type == "Runtime.ExitError"


def _time_out(fn):
    with pytest.raises(FunctionTimeout):
        fn.invoke_event({"sleep": fn.timeout + 1})


def _run_out_of_memory(fn):
    with pytest.raises(FunctionOutOfMemory):
        fn.invoke_event({"alloc_mb": 700})


@pytest.mark.parametrize(
    ("breaking", "timeout"),
    [
        (_crash, 3),
        (_time_out, 3),
        # Long enough for 700 MB to be written at Lambda's CPU share for 512 MB (0.29 vCPU) on a busy machine.
        (_run_out_of_memory, 10),
    ],
    ids=["crash", "timeout", "oom"],
)
def test_after_a_reset_the_next_call_inits_again_within_a_short_timeout(coldstart, breaking, timeout):
    """A short timeout, an init that fits in it: the call after the reset inits again, in its own time, and passes."""
    fn = coldstart(env={"INIT_SLEEP": "0.5", "CASE": "reset"}, timeout=timeout)
    fn.invoke_event({})
    breaking(fn)
    result = fn.invoke_event({})
    assert result["remaining_ms"] < timeout * 1000
    report = fn.last_report
    assert report.init_duration_ms is not None and report.init_duration_ms >= 500
    assert fn.invoke_event({})["imports"] == result["imports"]
    assert fn.last_report.init_duration_ms is None
