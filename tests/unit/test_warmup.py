"""The warm-up that has the runtime init before the first call: its verdicts, its hidden lines, the init's room and
the deadline the plugin keeps; pure, checked without Docker. The answers and log lines are the real emulator's
(aws-lambda-rie, classic mode), captured with awslambdaric; see ../shared/EMULATOR.md."""

from __future__ import annotations

import dataclasses
import json
import threading
import types

import httpx
import pytest

from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.config.defaults import INIT_LIMIT
from pytest_lambda_container.container import inside, inside_boot, launch, metrics, warmup
from pytest_lambda_container.container.protocol import hide_invocation
from pytest_lambda_container.container.sandbox import Sandbox
from pytest_lambda_container.container.warmup import Outcome, verdict

from .test_metrics import WARM, Measured

WARM_UP_ID = "a9c30e39-5cb0-4b0f-bf7d-a1e0d477c4fd"
UNMARSHAL = json.dumps(
    {
        "errorMessage": "Unable to unmarshal input: Expecting ',' delimiter or '}': line 1 column 38 (char 37)",
        "errorType": "Runtime.UnmarshalError",
        "requestId": WARM_UP_ID,
        "stackTrace": [],
    }
)
# A warm-up, then the first call, as the container logs them (the streams interleave as Docker merged them).
LOG = f"""07 Dec 2026 15:37:26,160 [INFO] (rapid) exec '/usr/local/bin/python' (cwd=/function, handler=app.handler)
07 Dec 2026 15:37:26,228 [INFO] (rapid) INIT START(type: on-demand, phase: init)
START RequestId: {WARM_UP_ID} Version: $LATEST
coldstart: module imported
07 Dec 2026 15:37:27,736 [INFO] (rapid) INIT RTDONE(status: success)
07 Dec 2026 15:37:27,737 [INFO] (rapid) INIT REPORT(durationMs: 1509.107000)
07 Dec 2026 15:37:27,737 [INFO] (rapid) INVOKE START(requestId: {WARM_UP_ID})
[ERROR] Runtime.UnmarshalError: Unable to unmarshal input: Expecting ',' delimiter or '}}': line 1 column 38 (char 37)
Traceback (most recent call last):
07 Dec 2026 15:37:27,742 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 5.001000ms)
END RequestId: {WARM_UP_ID}
REPORT RequestId: {WARM_UP_ID}\tInit Duration: 0.06 ms\tDuration: 1514.98 ms\tBilled Duration: 1515 ms\t
{WARM}"""
VOLUME = "plc-emulator-0123456789abcdef"
CUSTOM = ImageInfo("sha256:c", "fn:c", ImageConfig(entrypoint=("python", "-m", "awslambdaric"), cmd=("app.handler",)))


def test_the_runtimes_answers_to_the_warm_up():
    ready = verdict(200, UNMARSHAL)
    assert ready.outcome is Outcome.READY and ready.request_id == WARM_UP_ID
    # An import that raised: HTTP 502 and the runtime's own error (awslambdaric's init/error).
    failed = verdict(502, json.dumps({"errorMessage": "boom", "errorType": "ValueError", "stackTrace": ["x"]}))
    assert failed.outcome is Outcome.INIT_FAILED and failed.error is not None
    assert (failed.error.error_type, failed.error.error_message) == ("ValueError", "boom")
    exited = json.dumps({"errorMessage": "Runtime exited with error: exit status 1", "errorType": "Runtime.ExitError"})
    assert verdict(502, exited).outcome is Outcome.RUNTIME_FAILED  # the start-up check tells why
    assert verdict(200, "").outcome is Outcome.RUNTIME_FAILED
    assert verdict(200, "Task timed out after 1.00 seconds").outcome is Outcome.TIMED_OUT


def test_an_init_error_names_the_handler_and_the_image():
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME)
    body = {"errorMessage": "No module named 'app'", "errorType": "Runtime.ImportModuleError"}
    found = verdict(502, json.dumps(body))
    error = warmup.init_error(found, plan)
    assert error is not None and error.error_type == "Runtime.ImportModuleError"
    assert "No module named 'app'" in str(error) and "'app.handler' of fn:c" in str(error)
    assert warmup.init_error(verdict(200, UNMARSHAL), plan) is None


def test_the_warm_ups_lines_are_hidden_and_the_inits_kept():
    log = hide_invocation(LOG, WARM_UP_ID)
    assert WARM_UP_ID not in log and "UnmarshalError" not in log and "Traceback" not in log
    assert "coldstart: module imported" in log and "INIT REPORT(durationMs: 1509.107000)" in log
    assert log.endswith(WARM)  # the first call's lines, all of them
    assert log.count("INVOKE RTDONE") == 1
    assert metrics.init_duration(LOG) == 1509.107 and metrics.init_duration(WARM) is None


def test_the_first_calls_report_carries_the_init_that_ran_before_it():
    report = metrics.LazyReport(Measured(WARM), since=0.0, init_duration_ms=1509.107)
    assert report.init_duration_ms == 1509.107 and report.duration_ms == 585.629
    assert metrics.LazyReport(Measured(WARM), since=0.0).init_duration_ms is None


def test_the_emulator_gets_room_for_the_init_only_where_the_timeout_is_shorter():
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=1.5)
    assert plan.emulator_timeout == 2 and plan.environment["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "2"
    roomy = plan.with_init_room(INIT_LIMIT)
    assert roomy.emulator_timeout == 11 and roomy.timeout == 1.5
    assert roomy.has_init_room and not plan.has_init_room  # 2 s are 1.5 s in the emulator's whole seconds
    long = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=30)
    assert long.with_init_room(INIT_LIMIT).emulator_timeout == 30 and not long.with_init_room(INIT_LIMIT).has_init_room
    # A container an earlier run gave room (--lambda-reuse) has it too: its successor keeps the function's deadline.
    assert (
        launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=1)
        .as_started(["AWS_LAMBDA_FUNCTION_TIMEOUT=11"])
        .has_init_room
    )


def test_the_plugin_keeps_the_deadline_only_where_the_emulators_is_longer():
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=0.05)
    assert warmup.call_deadline(plan, None)._timer is None
    killed = threading.Event()
    with warmup.Deadline(0.05, killed.set) as deadline:
        assert killed.wait(5)
    assert deadline.fired
    with warmup.Deadline(5, killed.clear) as early:
        pass
    assert not early.fired and killed.is_set()
    answer = warmup.timed_out_answer(1.0)
    assert (answer.status_code, answer.text) == (200, "Task timed out after 1.00 seconds")


def test_a_reused_container_keeps_the_budget_it_was_started_with():
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=1)
    adopted = plan.as_started(["PATH=/bin", "AWS_LAMBDA_FUNCTION_TIMEOUT=11"])
    assert adopted.emulator_timeout == 11 and adopted.timeout == 1
    assert plan.as_started(["PATH=/bin"]) is plan


class FakeContainer:
    """What the warm-up asks of a container: CPU updates, the runtime killed, its log."""

    name = "plc-fake"

    def __init__(self, vcpus_at_start: float | None = None) -> None:
        self.cpus: list[float] = []
        self.killed = threading.Event()
        self.vcpus_at_start = vcpus_at_start

    def update_cpus(self, vcpus: float) -> bool:
        self.cpus.append(vcpus)
        return True

    def kill_runtime(self) -> bool:
        self.killed.set()
        return True

    def logs(self, *, tail=None, since=None) -> str:
        return LOG


class SlowInit:
    """An emulator whose runtime inits until it is killed (or, at most, `seconds`)."""

    def __init__(self, container: FakeContainer, seconds: float) -> None:
        self.container, self.seconds = container, seconds

    def post(self, path, *, content, timeout):
        assert content == warmup.WARM_UP_EVENT
        self.container.killed.wait(self.seconds)
        return httpx.Response(200, text=UNMARSHAL)


def test_an_init_past_lambdas_limit_is_killed_and_left_to_the_first_call(monkeypatch):
    """Lambda: an init over 10 s is retried at the first invocation under the function's timeout
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html); here 10 s are 0.05 s."""
    monkeypatch.setattr(warmup, "INIT_LIMIT", 0.05)
    sandbox = Sandbox(memory=512, host_cpus=2)
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=30, sandbox=sandbox)
    current, said = FakeContainer(), []
    found = warmup.warm_up(current, SlowInit(current, 5.0), plan, said.append)
    assert found.outcome is Outcome.OVER_LIMIT and current.killed.is_set() and found.init_ms is None
    assert "as on Lambda, the first call inits it again under the function's timeout" in said[0]
    # The burst, then Lambda's share again for the calls.
    assert current.cpus == [sandbox.burst_vcpus, sandbox.vcpus]


class DroppedAtTheKill(SlowInit):
    """An emulator that drops the connection once its runtime is killed (its panic under load, ErrInvalidInvokeID)."""

    def post(self, path, *, content, timeout):
        super().post(path, content=content, timeout=timeout)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.mark.parametrize("emulator", [SlowInit, DroppedAtTheKill])
def test_an_init_the_plugin_ended_at_the_limit_is_over_it_however_the_emulator_answers(monkeypatch, emulator):
    monkeypatch.setattr(warmup, "INIT_LIMIT", 0.05)
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=1)
    current = FakeContainer()
    assert warmup.warm_up(current, emulator(current, 5.0), plan, lambda line: None).outcome is Outcome.OVER_LIMIT
    # Dropped before any limit: the runtime failed.
    dropped = warmup.warm_up(FakeContainer(), DroppedAtTheKill(FakeContainer(), 0), plan, lambda line: None)
    assert dropped.outcome is Outcome.RUNTIME_FAILED and "RemoteProtocolError" in dropped.answer


def test_an_init_within_the_limit_is_the_first_calls_and_runs_with_the_burst():
    sandbox = Sandbox(memory=512, host_cpus=2)
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=30, sandbox=sandbox)
    current = FakeContainer()
    found = warmup.warm_up(current, SlowInit(current, 0.0), plan, print)
    assert found.outcome is Outcome.READY and found.init_ms == 1509.107 and not current.killed.is_set()
    assert current.cpus == [2.0, 512 / 1769]


def test_with_room_for_the_init_the_handler_keeps_the_functions_deadline(monkeypatch):
    """aws-lambda-rie tells the runtime the call's start plus its own budget (rapidcore/server.go `Invoke`); Lambda's
    deadline is the call's start plus the function's timeout: the runtime moves it back by the difference."""
    delivered = []
    monkeypatch.setattr(
        inside.delivery, "deliver", lambda engine, bundle, helper_image: delivered.append(bundle) or "v"
    )
    whole = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=2)
    assert inside.with_function_deadline(whole, engine=None) is whole  # the emulator keeps the function's own
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=1.5)
    roomy = inside.with_function_deadline(plan.with_init_room(INIT_LIMIT), engine=None)
    assert roomy.environment[inside_boot.DEADLINE_SHIFT] == "9500" and roomy.emulator_timeout == 11
    assert (
        roomy.environment["PYTHONPATH"].startswith(f"{inside.MOUNT}/boot") and roomy.mounts["v"] == delivered[0].mount
    )
    # Coverage's hook already there: only the variable.
    unshifted = {k: v for k, v in roomy.environment.items() if k != inside_boot.DEADLINE_SHIFT}
    again = inside.with_function_deadline(dataclasses.replace(roomy, environment=unshifted), engine=None)
    assert len(delivered) == 1 and again.environment[inside_boot.DEADLINE_SHIFT] == "9500"


def test_the_runtimes_hook_moves_the_handlers_deadline_back(monkeypatch):
    context = types.SimpleNamespace(_epoch_deadline_time_in_ms=100_000)
    call = inside_boot._measured(lambda name: lambda event, context: context._epoch_deadline_time_in_ms)("app.handler")
    assert call({}, context) == 100_000
    monkeypatch.setenv(inside_boot.DEADLINE_SHIFT, "9500")
    assert call({}, types.SimpleNamespace(_epoch_deadline_time_in_ms=100_000)) == 90_500
    assert inside_boot._keep_function_deadline(object()) is None  # a context without the runtime's field: left alone


def test_a_container_whose_warm_up_surely_follows_is_created_with_the_burst_and_only_set_back():
    sandbox = Sandbox(memory=512, host_cpus=2)
    plan = launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=30, sandbox=sandbox)
    assert warmup.start_vcpus(plan) == sandbox.burst_vcpus
    assert plan.create_options(name="n", port=0, vcpus=warmup.start_vcpus(plan))["cpu_quota"] == 200_000
    current = FakeContainer(vcpus_at_start=sandbox.burst_vcpus)
    assert warmup.warm_up(current, SlowInit(current, 0.0), plan, print).outcome is Outcome.READY
    assert current.cpus == [sandbox.vcpus]  # no raise first: it started with the burst
    # No sandbox, or an image whose runtime the plan alone cannot tell (an AWS base image's): Lambda's share.
    assert warmup.start_vcpus(launch.plan(CUSTOM, labels={}, emulator_volume=VOLUME, timeout=30)) is None
    aws = ImageInfo("sha256:a", "fn:a", ImageConfig(entrypoint=("/lambda-entrypoint.sh",), cmd=("app.handler",)))
    assert warmup.start_vcpus(launch.plan(aws, labels={}, timeout=30, sandbox=sandbox)) is None
