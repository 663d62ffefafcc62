"""A test's container log cut to its own calls by their request ids (`calls_after`), on captured logs: the engine
takes the emulator's stdout in late on a loaded machine, so a log read from the test's start can open with the call
before's last lines (issue 17: the per-test log attachment follows each call by its request id)."""

from __future__ import annotations

import pytest

from pytest_lambda_container.container.protocol import calls_after

PASSING = "c992c77a-271b-4641-aa34-ea35d7c8ebbb"
FAILING = "c62aae16-cbf8-4238-b66c-f77087cf7706"
REPORT_FIELDS = "\tDuration: 3.24 ms\tBilled Duration: 4 ms\tMemory Size: 512 MB\tMax Memory Used: 512 MB\t"

#: Captured (e2e run of main, 21:37 UTC, -n 3 under load): tests/e2e/test_failures.py's failing test, run after the
#: passing one; the container's log since the failing test began. The passing call's last stdout lines came late.
FAILED_RUN = (
    "quiet-passing-line\n"
    f"END RequestId: {PASSING}\n"
    f"REPORT RequestId: {PASSING}\tDuration: 52.38 ms\tBilled Duration: 53 ms\tMemory Size: 512 MB\t"
    "Max Memory Used: 512 MB\t\n"
    f"START RequestId: {FAILING} Version: $LATEST\n"
    "hello-from-the-function\n"
    f"END RequestId: {FAILING}\n"
    f"REPORT RequestId: {FAILING}{REPORT_FIELDS}\n"
    "07 Dec 2026 21:37:32,344 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 51.143000ms)\n"
    f"07 Dec 2026 21:37:32,351 [INFO] (rapid) INVOKE START(requestId: {FAILING})\n"
    "07 Dec 2026 21:37:32,354 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 3.101000ms)\n"
)
OWN_LINES = [
    f"START RequestId: {FAILING} Version: $LATEST",
    "hello-from-the-function",
    f"END RequestId: {FAILING}",
    f"REPORT RequestId: {FAILING}{REPORT_FIELDS}",
    f"07 Dec 2026 21:37:32,351 [INFO] (rapid) INVOKE START(requestId: {FAILING})",
    "07 Dec 2026 21:37:32,354 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 3.101000ms)",
]


@pytest.mark.parametrize("before", [PASSING, None], ids=["told-the-call-before", "not-told"])
def test_the_call_befores_late_lines_are_left_out(before):
    # Its END and REPORT lines before any START line of it tell it began before the log, even untold.
    assert calls_after(FAILED_RUN, before).split("\n") == OWN_LINES


def test_a_call_before_whose_stdout_came_late_in_one_piece_is_left_out_by_its_id():
    late = f"START RequestId: {PASSING} Version: $LATEST\nquiet-passing-line\n" + FAILED_RUN
    assert calls_after(late, PASSING).split("\n") == OWN_LINES
    assert "quiet-passing-line" in calls_after(late, None)  # what the id is needed for


def test_the_call_befores_stdout_after_the_tests_first_invoke_start_is_left_out():
    # Rapid's stderr on time, the runtime's stdout late: docker interleaves them by the time it read each.
    log = (
        f"START RequestId: {PASSING} Version: $LATEST\n"
        f"07 Dec 2026 21:37:32,351 [INFO] (rapid) INVOKE START(requestId: {FAILING})\n"
        "quiet-passing-line\n"
        f"END RequestId: {PASSING}\n"
        f"REPORT RequestId: {PASSING}{REPORT_FIELDS}\n"
        f"START RequestId: {FAILING} Version: $LATEST\n"
        "hello-from-the-function\n"
    )
    kept = calls_after(log, PASSING)
    assert "quiet-passing-line" not in kept and PASSING not in kept
    assert kept.split("\n")[0].endswith(f"INVOKE START(requestId: {FAILING})")
    assert kept.split("\n")[-2:] == [f"START RequestId: {FAILING} Version: $LATEST", "hello-from-the-function"]


def test_an_init_between_the_tests_calls_and_a_crash_at_the_last_are_kept():
    second = "72a51fe3-4e4b-41d2-b0a9-0e868ec91d99"
    log = (
        FAILED_RUN
        + "07 Dec 2026 21:37:33,000 [WARNING] (rapid) Reset initiated: Timeout\n"
        + "07 Dec 2026 21:37:33,100 [INFO] (rapid) INIT START(type: on-demand, phase: invoke)\n"
        + "07 Dec 2026 21:37:33,700 [INFO] (rapid) INIT REPORT(durationMs: 597.928000)\n"
        + f"07 Dec 2026 21:37:33,701 [INFO] (rapid) INVOKE START(requestId: {second})\n"
        + f"START RequestId: {second} Version: $LATEST\n"
        + "Traceback (most recent call last):\n"
        + "SystemExit: 3\n"
        + "07 Dec 2026 21:37:33,800 [WARNING] (rapid) First fatal error stored in appctx: Runtime.ExitError\n"
    )
    kept = calls_after(log, PASSING).split("\n")
    assert kept[: len(OWN_LINES)] == OWN_LINES
    assert kept[-1].endswith("Runtime.ExitError")  # no REPORT line for the last call: to the log's end
    assert any("INIT REPORT(durationMs: 597.928000)" in line for line in kept)  # inside the span: kept
    assert "SystemExit: 3" in kept


def test_lines_before_the_tests_first_call_that_belong_to_none_are_left_out_and_a_plain_log_is_kept():
    init = "07 Dec 2026 21:37:31,000 [INFO] (rapid) INIT REPORT(durationMs: 105.069000)\n"
    assert calls_after(init + FAILED_RUN, PASSING).split("\n") == OWN_LINES
    own = "\n".join(OWN_LINES)
    assert calls_after(own, None) == calls_after(own, PASSING) == own


def test_a_log_with_no_call_of_the_test_keeps_only_what_belongs_to_no_call():
    assert calls_after(f"END RequestId: {PASSING}\nlate\n07 Dec 2026 21:37:33,000 [INFO] (rapid) x", None) == (
        "07 Dec 2026 21:37:33,000 [INFO] (rapid) x"
    )
