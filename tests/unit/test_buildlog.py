"""A build's output as the user sees it: steps, heartbeat, streamed lines, a clean failure (no Docker needed)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pytest_lambda_container.build.builder import legacy_step, user_steps_only
from pytest_lambda_container.build.progress import NETWORK_HINT, BuildOutput, BuildProgress, plain


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_long_step_says_it_is_still_building_every_heartbeat():
    clock, said = Clock(), []
    output = BuildOutput(said.append, legacy_step, heartbeat=10, clock=clock)
    output.feed("Step 4/7 : RUN pip install -r requirements.txt\n")
    assert said == [BuildProgress(4, 7, "RUN pip install -r requirements.txt")]
    clock.now += 9
    assert output.heartbeat_line() is None  # a step quicker than the heartbeat says nothing more
    clock.now += 26
    assert output.heartbeat_line() == "still building step 4/7 (35 s)"
    output.say(BuildProgress(None, None, "still building step 4/7 (35 s)"))
    clock.now += 5
    assert output.heartbeat_line() is None  # said 5 s ago
    clock.now += 5
    assert output.heartbeat_line() == "still building step 4/7 (45 s)"
    output.feed("Step 5/7 : COPY app.py ./\n")
    assert output.heartbeat_line() is None


def test_the_heartbeat_runs_by_itself_while_the_output_is_read():
    # The build's clock is the test's: each time it moves past the heartbeat, the heartbeat's own thread says so once,
    # and the test waits for that line (an event), not for a stretch of wall time a loaded machine would skew.
    clock, said, beat = Clock(), [], threading.Event()

    def report(progress: BuildProgress) -> None:
        said.append(progress)
        if progress.text.startswith("still building"):
            beat.set()

    with BuildOutput(report, legacy_step, heartbeat=0.04, clock=clock) as output:
        output.feed("Step 2/3 : RUN sleep 60\n")
        for _ in range(2):
            beat.clear()
            clock.now += 35
            assert beat.wait(timeout=30), said
    assert [p.text for p in said] == [
        "RUN sleep 60",
        "still building step 2/3 (35 s)",
        "still building step 2/3 (70 s)",
    ]


def test_streamed_output_goes_to_the_callback_only_when_asked():
    quiet: list[BuildProgress] = []
    loud: list[BuildProgress] = []
    for said, stream in ((quiet, False), (loud, True)):
        output = BuildOutput(said.append, legacy_step, stream_output=stream)
        output.feed("Step 1/2 : RUN pip install x\nCollecting x\n")
        output.feed("Successfully inst")  # a partial line waits for its end
        output.feed("alled x\n")
    assert [p.text for p in quiet] == ["RUN pip install x"]
    assert [p.text for p in loud] == ["RUN pip install x", "  Collecting x", "  Successfully installed x"]


def test_escape_codes_and_overwritten_progress_leave_the_log():
    assert plain("\x1b[31mERROR\x1b[0m: no\x1b]8;;http://x\x07link\x1b]8;;\x07") == "ERROR: no" + "link"
    assert plain("  10%\r  50%\r 100% done") == " 100% done"


def test_a_failure_shows_a_clean_log_and_the_network_hint_when_a_host_was_unreachable(tmp_path: Path):
    output = BuildOutput(lambda _p: None, legacy_step)
    output.feed("Step 2/2 : RUN pip install mangum\n")
    output.feed(
        "\x1b[33mWARNING: Retrying after connection broken by 'NewConnectionError("
        "'<pip._vendor.urllib3.connection.HTTPSConnection>: Failed to establish a new connection: "
        "[Errno -3] Temporary failure in name resolution')'\x1b[0m\n"
    )
    error = output.failure(tmp_path / "Dockerfile", tmp_path, "returned a non-zero code: 1", network_mode=None)
    message = str(error)
    assert "\x1b" not in message and "\x1b" not in error.log_tail
    assert message.splitlines()[0].endswith("failed: returned a non-zero code: 1")
    assert message.splitlines()[1] == NETWORK_HINT
    assert "--lambda-build-network host" in NETWORK_HINT and "lambda_build_network" in NETWORK_HINT
    assert "Failed to establish a new connection" in error.log_tail


def test_no_network_hint_for_other_failures_or_a_build_already_on_the_host_network(tmp_path: Path):
    output = BuildOutput(lambda _p: None, legacy_step)
    output.feed("ERROR: No matching distribution found for nosuchpackage\n")
    assert NETWORK_HINT not in str(output.failure(tmp_path, tmp_path, "code 1", network_mode=None))
    output.feed("Could not resolve host: example.invalid\n")
    assert NETWORK_HINT in str(output.failure(tmp_path, tmp_path, "code 1", network_mode="bridge"))
    assert NETWORK_HINT not in str(output.failure(tmp_path, tmp_path, "code 1", network_mode="host"))


@pytest.mark.parametrize("ours", [6, 1], ids=["a-step-per-label", "one-step-for-all-labels"])
def test_our_label_steps_leave_the_count_whatever_the_engine_makes_of_them(ours):
    total = 3 + ours
    lines = [
        f"Step {n}/{total} : {'RUN x' if n <= 3 else 'LABEL pytest-lambda-container=1'}\n" for n in range(1, total + 1)
    ]
    kept = [user_steps_only(line, 3) for line in lines]
    assert kept == ["Step 1/3 : RUN x\n", "Step 2/3 : RUN x\n", "Step 3/3 : RUN x\n"] + [None] * ours
    assert user_steps_only(" ---> Running in abc\n", 3) == " ---> Running in abc\n"
