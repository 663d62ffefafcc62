"""The emulator's answers, classified without a container."""

from __future__ import annotations

import pytest

from pytest_lambda_container import FunctionError, FunctionTimeout, HandlerImportError, InvocationError, PayloadTooLarge
from pytest_lambda_container.container.outcome import decode_answer, function_error
from pytest_lambda_container.container.protocol import (
    MAX_PAYLOAD,
    emulator_base,
    encode_event,
    function_target_command,
    split_log_lines,
)


def test_error_payloads_are_classified():
    assert function_error({"statusCode": 200}) is None
    assert function_error({"errorMessage": "x", "note": 1}) is None  # a result that merely has the key
    err = function_error({"errorType": "KeyError", "errorMessage": "'a'", "stackTrace": ["  File x\n"]})
    assert isinstance(err, FunctionError) and err.stack_trace == ["  File x\n"]
    err = function_error({"errorType": "Runtime.ImportModuleError", "errorMessage": "No module named 'nope'"})
    assert isinstance(err, HandlerImportError)
    assert isinstance(function_error([1], function_error_header="Unhandled"), FunctionError)


def test_a_payload_over_lambdas_limit_is_refused_before_sending():
    assert len(encode_event({"blob": "x" * (MAX_PAYLOAD - 100)})) <= MAX_PAYLOAD
    with pytest.raises(PayloadTooLarge, match="at most 6,291,456 bytes"):
        encode_event({"blob": "x" * (10 * 1024 * 1024)})


def test_a_result_passes_through():
    assert decode_answer(200, '{"statusCode": 200}', {}, timeout=3) == {"statusCode": 200}


def test_a_timeout_names_the_limit_and_how_to_raise_it():
    with pytest.raises(FunctionTimeout, match=r"Task timed out after 2\.00 seconds.*the limit is 2s.*--lambda-timeout"):
        decode_answer(200, "Task timed out after 2.00 seconds", {}, timeout=2)


def test_a_function_error_is_raised_as_one():
    with pytest.raises(FunctionError) as info:
        decode_answer(200, '{"errorType": "ValueError", "errorMessage": "boom"}', {}, timeout=3)
    assert (info.value.error_type, info.value.error_message) == ("ValueError", "boom")


@pytest.mark.parametrize(("text", "match"), [("", "empty response"), ("<html>", "not JSON")])
def test_answers_that_are_not_results_are_invocation_errors(text, match):
    with pytest.raises(InvocationError, match=match) as info:
        decode_answer(200, text, {}, timeout=3)
    assert type(info.value) is InvocationError


RID = "c282cc1d-8da6-499f-8464-24410141cb57"


@pytest.mark.parametrize(
    ("raw", "lines"),
    [
        # A logged exception ends without a newline: the emulator's END line used to follow on its last line.
        (
            f"Traceback (most recent call last):\n    1 / 0\nZeroDivisionError: division by zeroEND RequestId: {RID}\n"
            f"REPORT RequestId: {RID}\tDuration: 1.00 ms\n",
            [
                "Traceback (most recent call last):",
                "    1 / 0",
                "ZeroDivisionError: division by zero",
                f"END RequestId: {RID}",
                f"REPORT RequestId: {RID}\tDuration: 1.00 ms",
            ],
        ),
        (
            f"no newline hereSTART RequestId: {RID} Version: $LATEST",
            ["no newline here", f"START RequestId: {RID} Version: $LATEST"],
        ),
        # awslambdaric joins an error's lines with carriage returns; a terminal would print them over each other.
        (
            "[ERROR] KeyError: 'a'\rTraceback (most recent call last):\r  File x\n",
            ["[ERROR] KeyError: 'a'", "Traceback (most recent call last):", "  File x"],
        ),
        # A record logged with its traceback ends without a newline: the runtime's next record used to follow on
        # (issue 21, item 3: "...'/function/out.txt'[INFO]\t2026-12-07T14:00:30.667Z ...").
        (
            "OSError: [Errno 30] Read-only file system: '/function/out.txt'"
            f"[INFO]\t2026-12-07T14:00:30.667Z\t{RID}\tnext record\n",
            [
                "OSError: [Errno 30] Read-only file system: '/function/out.txt'",
                f"[INFO]\t2026-12-07T14:00:30.667Z\t{RID}\tnext record",
            ],
        ),
        # Left as they are: lines that already stand apart, Windows line ends, and the words used in a sentence.
        (f"START RequestId: {RID} Version: $LATEST\r\nok\n", [f"START RequestId: {RID} Version: $LATEST", "ok"]),
        ("a user said END RequestId: is odd\n", ["a user said END RequestId: is odd"]),
    ],
    ids=[
        "end-after-traceback",
        "start-after-print",
        "carriage-returns",
        "runtime-record-after-traceback",
        "already-apart",
        "not-a-request-id",
    ],
)
def test_log_lines_of_the_runtime_and_the_emulator_stay_apart(raw, lines):
    assert split_log_lines(raw).splitlines() == lines
    assert "\r" not in split_log_lines(raw).replace("\r\n", "")


def test_a_runtime_stack_trace_leaves_out_the_import_systems_frozen_frames():
    # As awslambdaric reports an exception raised while the handler's module loads (issue 21, item 10).
    payload = {
        "errorType": "RuntimeError",
        "errorMessage": "no config",
        "stackTrace": [
            '  File "/var/runtime/awslambdaric/bootstrap.py", line 53, in _get_handler\n    m = import_module(name)\n',
            '  File "<frozen importlib._bootstrap>", line 1206, in _gcd_import\n',
            '  File "<frozen importlib._bootstrap_external>", line 940, in exec_module\n',
            '  File "/var/task/app.py", line 3, in <module>\n    raise RuntimeError("no config")\n',
        ],
    }
    error = function_error(payload)
    assert error is not None
    assert [line.split(",")[0].strip() for line in error.stack_trace] == [
        'File "/var/runtime/awslambdaric/bootstrap.py"',
        'File "/var/task/app.py"',
    ]
    assert error.payload == payload  # the payload as the runtime sent it


def test_the_emulators_invoke_url_is_told_from_other_endpoints():
    assert emulator_base("http://127.0.0.1:9000/2015-03-31/functions/function/invocations") == "http://127.0.0.1:9000"
    assert emulator_base("http://h:1/x/2015-03-31/functions/function/invocations/") == "http://h:1/x"
    assert emulator_base("http://localhost:4566") is None
    assert emulator_base("http://h/2015-03-31/functions/fn/invocations") is None
    assert emulator_base(None) is None
    command = function_target_command("http://127.0.0.1:9000/")
    assert command == (
        "pytest --lambda-target function --lambda-endpoint-url "
        "http://127.0.0.1:9000/2015-03-31/functions/function/invocations"
    )
