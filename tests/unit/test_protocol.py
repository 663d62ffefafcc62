"""The emulator's answers, classified without a container."""

from __future__ import annotations

import pytest

from pytest_lambda_container import FunctionError, FunctionTimeout, HandlerImportError, InvocationError, PayloadTooLarge
from pytest_lambda_container.protocol import MAX_PAYLOAD, decode_answer, encode_event, function_error


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
