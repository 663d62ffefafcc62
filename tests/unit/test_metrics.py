"""The invocation's report, parsed from the emulator's output and read only when asked; checked without Docker."""

from __future__ import annotations

import httpx

from pytest_lambda_container.container.metrics import EMULATOR_FIGURE, LazyReport, mark_emulator_figures, parse
from pytest_lambda_container.fronts.transport import LambdaTransport

# As aws-lambda-rie writes them (captured): the first call after a start, then a warm one.
COLD = (
    "START RequestId: 1d3b0fd7-63be-40be-bd1a-fd4ecc1eb393 Version: $LATEST\n"
    "28 Nov 2026 15:28:01,666 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n"
    "28 Nov 2026 15:28:01,770 [INFO] (rapid) INIT REPORT(durationMs: 105.069000)\n"
    "28 Nov 2026 15:28:01,771 [INFO] (rapid) INVOKE START(requestId: 1d3b0fd7-63be-40be-bd1a-fd4ecc1eb393)\n"
    "28 Nov 2026 15:28:01,772 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.324000ms)\n"
    "END RequestId: 1d3b0fd7-63be-40be-bd1a-fd4ecc1eb393\n"
    "REPORT RequestId: 1d3b0fd7-63be-40be-bd1a-fd4ecc1eb393\tInit Duration: 0.23 ms\tDuration: 106.99 ms\t"
    "Billed Duration: 107 ms\tMemory Size: 512 MB\tMax Memory Used: 512 MB\t\n"
)
WARM = (
    "START RequestId: 72a51fe3-4e4b-41d2-b0a9-0e868ec91d99 Version: $LATEST\n"
    "END RequestId: 72a51fe3-4e4b-41d2-b0a9-0e868ec91d99\n"
    "28 Nov 2026 15:28:02,365 [INFO] (rapid) "
    "INVOKE RTDONE(status: success, produced bytes: 0, duration: 585.629000ms)\n"
    "REPORT RequestId: 72a51fe3-4e4b-41d2-b0a9-0e868ec91d99\tDuration: 585.94 ms\tBilled Duration: 586 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 512 MB\t\n"
)


def test_the_real_figures_not_the_emulators_made_up_ones():
    cold = parse(COLD, peak_bytes=350 * 2**20)
    assert cold is not None and cold.request_id == "1d3b0fd7-63be-40be-bd1a-fd4ecc1eb393"
    # The init's real duration (not the REPORT's 0.23 ms), and the handler's own duration (without the init).
    assert (cold.init_duration_ms, cold.duration_ms) == (105.069, 1.324)
    assert (cold.billed_duration_ms, cold.memory_size_mb, cold.max_memory_used_mb) == (107, 512, 350.0)
    warm = parse(WARM)
    assert warm is not None and warm.init_duration_ms is None and warm.duration_ms == 585.629
    assert warm.max_memory_used_mb is None  # unknown, not the emulator's 512
    assert parse("no report here\n") is None
    assert parse(WARM + COLD).request_id == "72a51fe3-4e4b-41d2-b0a9-0e868ec91d99"  # the first: the call's own


def test_the_calls_own_report_by_its_request_id_when_the_call_before_reports_late():
    # The emulator writes END and REPORT after it answers: the next call on the container (a pool's, or the next
    # line of a test) may begin first, so the log since it began starts with the call before's last lines.
    late = COLD[COLD.index("END RequestId") :]
    cold_start = COLD[: COLD.index("END RequestId")]
    report = parse(late + WARM)
    assert report is not None and report.request_id == "72a51fe3-4e4b-41d2-b0a9-0e868ec91d99"
    assert report.init_duration_ms is None and report.duration_ms == 585.629  # not the call before's INIT or RTDONE
    # Its own REPORT not written yet: no report (LazyReport waits for it), not the call before's.
    assert parse(late + WARM[: WARM.index("REPORT")]) is None
    assert parse(cold_start) is None


def test_a_call_that_timed_out_is_not_given_the_call_befores_duration():
    # Captured under load: the call before's INVOKE RTDONE (stderr) came after this call's START (stdout); this
    # call timed out, so it has no RTDONE of its own, and its duration is the REPORT's (the whole limit).
    log = (
        "START RequestId: 9996e820-62cd-45d7-b452-2ea7bc0e5172 Version: $LATEST\n"
        "07 Dec 2026 16:51:11,287 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: "
        "195.642000ms)\n"
        "07 Dec 2026 16:51:11,306 [INFO] (rapid) INVOKE START(requestId: 9996e820-62cd-45d7-b452-2ea7bc0e5172)\n"
        "07 Dec 2026 16:51:14,307 [WARNING] (rapid) Reset initiated: Timeout\n"
        "END RequestId: 9996e820-62cd-45d7-b452-2ea7bc0e5172\n"
        "REPORT RequestId: 9996e820-62cd-45d7-b452-2ea7bc0e5172\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 512 MB\n"
    )
    report = parse(log)
    assert report is not None and report.duration_ms == 3000.0
    ran = log.replace("Reset initiated: Timeout", "INVOKE RTDONE(status: success, produced bytes: 0, duration: 7.5ms)")
    assert parse(ran).duration_ms == 7.5  # its own RTDONE, after its INVOKE START


def test_a_reinit_inside_the_call_is_its_init_though_written_after_its_report_line():
    # Captured (aws-lambda-rie, custom image): the call after a timeout inits again inside it; rapid's INIT REPORT and
    # RTDONE (stderr) come after the emulator's REPORT line (stdout).
    log = (
        "07 Dec 2026 18:32:38,279 [INFO] (rapid) INIT START(type: on-demand, phase: invoke)\n"
        "START RequestId: 628b2b23-8e49-4a53-8ac0-0b459ebe036c Version: $LATEST\n"
        "coldstart: module imported\n"
        "END RequestId: 628b2b23-8e49-4a53-8ac0-0b459ebe036c\n"
        "REPORT RequestId: 628b2b23-8e49-4a53-8ac0-0b459ebe036c\tDuration: 603.36 ms\tBilled Duration: 604 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 512 MB\t\n"
        "07 Dec 2026 18:32:38,877 [INFO] (rapid) INIT RTDONE(status: success)\n"
        "07 Dec 2026 18:32:38,877 [INFO] (rapid) INIT REPORT(durationMs: 597.928000)\n"
        "07 Dec 2026 18:32:38,877 [INFO] (rapid) INVOKE START(requestId: 628b2b23-8e49-4a53-8ac0-0b459ebe036c)\n"
        "07 Dec 2026 18:32:38,882 [INFO] (rapid) "
        "INVOKE RTDONE(status: success, produced bytes: 0, duration: 4.724000ms)\n"
    )
    report = parse(log)
    assert report is not None and (report.init_duration_ms, report.duration_ms) == (597.928, 4.724)
    # The next call's lines, read later in the same log, are not this call's; nor is this init the next call's.
    after = log + WARM.replace(
        "END RequestId",
        "07 Dec 2026 18:32:39,000 [INFO] (rapid) INVOKE START(requestId: 72a51fe3-4e4b-41d2-b0a9-0e868ec91d99)\n"
        "END RequestId",
    )
    assert (parse(after).init_duration_ms, parse(after).duration_ms) == (597.928, 4.724)
    warm = parse(after[after.index("START RequestId: 72a5") :])
    assert warm is not None and warm.init_duration_ms is None and warm.duration_ms == 585.629


# Captured under load: the call before crashed (the emulator writes no REPORT for it), and its START line was read,
# and stamped, after this call began.
CRASHED_BEFORE = (
    "START RequestId: c71319d9-129c-4235-96bb-7fa0cff74ace Version: $LATEST\n"
    "START RequestId: 7fd32d42-5828-4359-aabb-7c35558090cc Version: $LATEST\n"
    "07 Dec 2026 19:07:30,148 [INFO] (rapid) INVOKE START(requestId: c71319d9-129c-4235-96bb-7fa0cff74ace)\n"
    "07 Dec 2026 19:07:30,152 [WARNING] (rapid) Reset initiated: ReleaseFail\n"
    "07 Dec 2026 19:07:30,164 [INFO] (rapid) INIT START(type: on-demand, phase: invoke)\n"
    "07 Dec 2026 19:07:31,099 [INFO] (rapid) INIT REPORT(durationMs: 935.039000)\n"
    "07 Dec 2026 19:07:31,099 [INFO] (rapid) INVOKE START(requestId: 7fd32d42-5828-4359-aabb-7c35558090cc)\n"
    "07 Dec 2026 19:07:31,101 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.84ms)\n"
    "END RequestId: 7fd32d42-5828-4359-aabb-7c35558090cc\n"
    "REPORT RequestId: 7fd32d42-5828-4359-aabb-7c35558090cc\tDuration: 937.62 ms\tBilled Duration: 938 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 512 MB\n"
)


class Since:
    """A container whose log since a time is given per time, each read a step further (lines arriving late)."""

    def __init__(self, logs: dict[float, list[str]]) -> None:
        self.logs_at = logs

    def logs(self, *, tail=None, since=None):
        steps = self.logs_at[since]
        return steps.pop(0) if len(steps) > 1 else steps[0]

    def peak_memory(self):
        return None


def test_the_call_befores_late_start_line_is_told_by_its_id():
    assert parse(CRASHED_BEFORE) is None  # its first START is the crashed call's, which has no REPORT
    report = parse(CRASHED_BEFORE, skip={"c71319d9-129c-4235-96bb-7fa0cff74ace"})
    assert report is not None and report.init_duration_ms == 935.039 and report.duration_ms == 1.84
    crashed = CRASHED_BEFORE[: CRASHED_BEFORE.index("START RequestId: 7fd3")]
    lazy = LazyReport(Since({2.0: [CRASHED_BEFORE], 1.0: [crashed + CRASHED_BEFORE]}), 2.0, previous_since=1.0)
    assert lazy.request_id == "7fd32d42-5828-4359-aabb-7c35558090cc" and lazy.init_duration_ms == 935.039
    # Its own first line is its own: the call before is not skipped, and the report waits for this call's REPORT.
    alone = CRASHED_BEFORE[CRASHED_BEFORE.index("START RequestId: 7fd3") :]
    assert LazyReport(Since({2.0: [alone], 1.0: [crashed + alone]}), 2.0, previous_since=1.0).duration_ms == 1.84


def test_a_reinits_report_line_written_after_the_calls_is_waited_for():
    whole = CRASHED_BEFORE[CRASHED_BEFORE.index("START RequestId: 7fd3") :]
    init_at = whole.index("07 Dec 2026 19:07:31,099 [INFO] (rapid) INIT REPORT")
    early = whole[:init_at] + whole[whole.index("END RequestId") :]  # the REPORT line first, rapid's lines to come
    assert parse(early).init_duration_ms is None
    assert LazyReport(Since({2.0: [early, early, whole]}), 2.0).init_duration_ms == 935.039


class Measured:
    def __init__(self, log: str) -> None:
        self.log, self.reads = log, 0

    def logs(self, *, tail=None, since=None):
        self.reads += 1
        return self.log

    def peak_memory(self):
        return 64 * 2**20


def test_the_report_is_read_once_and_only_when_asked():
    source = Measured(WARM)
    report = LazyReport(source, since=0.0)
    assert source.reads == 0 and "not read yet" in repr(report)
    assert report.duration_ms == 585.629 and report.max_memory_used_mb == 64.0
    assert report.billed_duration_ms == 586
    assert source.reads == 1


class Target:
    """A function that keeps a report, as LambdaContainer does."""

    def __init__(self) -> None:
        self.last_report = LazyReport(Measured(WARM), since=0.0)

    def invoke_event(self, event):
        return {"statusCode": 200, "body": "ok"}


def test_the_transport_hands_the_report_to_the_response():
    target = Target()
    with httpx.Client(transport=LambdaTransport(target), base_url="http://lambda") as client:
        response = client.get("/")
    assert response.extensions["lambda_report"] is target.last_report


class LateMeasured(Measured):
    """The emulator writes its REPORT line just after it answers: the first reads do not find it yet."""

    def logs(self, *, tail=None, since=None):
        self.reads += 1
        return self.log if self.reads >= 3 else WARM.split("REPORT")[0]


def test_a_report_read_right_after_the_answer_waits_for_the_report_line():
    source = LateMeasured(WARM)
    assert LazyReport(source, since=0.0).duration_ms == 585.629 and source.reads == 3


def test_a_shown_log_marks_the_emulators_made_up_memory_figure_on_each_report_line():
    # Issue 21, item 11: every captured REPORT line said "Max Memory Used: 512 MB", the memory size, whatever the
    # function used (aws-lambda-rie's REPORT lines above, as captured).
    shown = mark_emulator_figures(COLD + WARM + "a user line: Max Memory Used: 3 MB\n").splitlines()
    reports = [line for line in shown if line.startswith("REPORT ")]
    assert len(reports) == 2
    assert all(line.endswith("Max Memory Used: 512 MB" + EMULATOR_FIGURE + "\t") for line in reports), reports
    assert shown[-1] == "a user line: Max Memory Used: 3 MB"  # only the emulator's lines
    assert parse(mark_emulator_figures(COLD)) == parse(COLD)


# Captured in CI (-n 4): the call before the crash wrote START, END and REPORT in one piece after it answered, so the
# log since the crashed call began starts with that call's lines, and the crashed call's START leads this call's log.
WRITTEN_LATE = (
    "START RequestId: 499ec5ef-7853-4490-882e-19ac7183baee Version: $LATEST\n"
    "END RequestId: 499ec5ef-7853-4490-882e-19ac7183baee\n"
    "REPORT RequestId: 499ec5ef-7853-4490-882e-19ac7183baee\tDuration: 1.28 ms\tBilled Duration: 2 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 512 MB\n"
    "07 Dec 2026 20:25:58,767 [INFO] (rapid) INVOKE START(requestId: 499ec5ef-7853-4490-882e-19ac7183baee)\n"
)
CRASHED_THEN_THIS = (
    "START RequestId: 92a36f8f-6b6e-4d32-ae19-2a591b0172e5 Version: $LATEST\n"
    "07 Dec 2026 20:25:58,771 [INFO] (rapid) INVOKE START(requestId: 92a36f8f-6b6e-4d32-ae19-2a591b0172e5)\n"
    "07 Dec 2026 20:25:58,773 [WARNING] (rapid) Reset initiated: ReleaseFail\n"
    "START RequestId: 11178b8b-5848-4866-a342-9fd5f221d8bc Version: $LATEST\n"
    "07 Dec 2026 20:25:58,776 [INFO] (rapid) INIT START(type: on-demand, phase: invoke)\n"
    "07 Dec 2026 20:25:59,336 [INFO] (rapid) INIT REPORT(durationMs: 559.367000)\n"
    "07 Dec 2026 20:25:59,336 [INFO] (rapid) INVOKE START(requestId: 11178b8b-5848-4866-a342-9fd5f221d8bc)\n"
    "07 Dec 2026 20:25:59,337 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.239000ms)\n"
    "END RequestId: 11178b8b-5848-4866-a342-9fd5f221d8bc\n"
    "REPORT RequestId: 11178b8b-5848-4866-a342-9fd5f221d8bc\tDuration: 561.02 ms\tBilled Duration: 562 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 512 MB\n"
)


def test_a_crashed_calls_start_line_is_passed_over_even_when_the_call_befores_lines_came_late():
    lazy = LazyReport(
        Since({2.0: [CRASHED_THEN_THIS], 1.0: [WRITTEN_LATE + CRASHED_THEN_THIS]}), 2.0, previous_since=1.0
    )
    assert lazy.request_id == "11178b8b-5848-4866-a342-9fd5f221d8bc" and lazy.init_duration_ms == 559.367
    # This call's own lines still on their way: it waits for them rather than taking the crashed call's.
    only_crashed = CRASHED_THEN_THIS[: CRASHED_THEN_THIS.index("START RequestId: 1117")]
    arriving = LazyReport(Since({2.0: [only_crashed, CRASHED_THEN_THIS], 1.0: [WRITTEN_LATE]}), 2.0, previous_since=1.0)
    assert arriving.request_id == "11178b8b-5848-4866-a342-9fd5f221d8bc"


def test_a_call_the_plugin_ended_at_its_timeout_reports_the_full_timeout_as_lambda_does():
    """Lambda's REPORT of a timed-out call says its full timeout (`Duration: 3000.00 ms ... Status: timeout`); the
    emulator, whose runtime the plugin killed at the function's timeout (a function given room for a long init),
    writes none: the report says it itself, at once (no wait for a line that never comes)."""
    cut = (
        "START RequestId: 7f0c2a1e-1111-2222-3333-444455556666 Version: $LATEST\n"
        "07 Dec 2026 22:40:01,000 [WARNING] (rapid) Reset initiated: ReleaseFail\n"
    )
    source = Measured(cut)
    report = LazyReport(source, since=0.0, init_duration_ms=3500.0)
    report.ended_at_timeout(3.0, 512)
    assert report.duration_ms == 3000.0 and report.billed_duration_ms == 3000.0
    assert report.request_id == "7f0c2a1e-1111-2222-3333-444455556666"
    assert report.memory_size_mb == 512 and report.max_memory_used_mb == 64.0
    assert report.init_duration_ms == 3500.0  # the init the warm-up ran apart, as on the first call's report
    assert source.reads == 1
