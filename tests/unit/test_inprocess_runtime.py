"""The in-process runtime as Lambda's Python runtime (awslambdaric 4.2.2, read from its wheel) and the emulator give
it: results marshalled by awslambdaric's encoder, the emulator's response cap, the context's types, the task root as
the working directory, LAMBDA_TASK_ROOT and _HANDLER."""

from __future__ import annotations

import decimal
import json
import os
from collections import namedtuple
from pathlib import Path

import pytest

from pytest_lambda_container import FunctionError, InvocationError, Settings
from pytest_lambda_container.config.function import FunctionSpec
from pytest_lambda_container.container.protocol import caller_headers
from pytest_lambda_container.inprocess.context import CognitoIdentity, context_for
from pytest_lambda_container.inprocess.function import InProcessFunction, load
from pytest_lambda_container.inprocess.marshal import MAX_RESPONSE, marshal

Point = namedtuple("Point", "x y")
PY312 = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}
PY311 = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"}


def test_a_decimal_is_written_as_its_own_digits() -> None:
    """awslambdaric's Encoder.default: a Decimal is `RawJSON(str(obj))` (lambda_runtime_marshaller.py), so a
    DynamoDB item's numbers go out as they are stored; a NaN Decimal as NaN."""
    item = {"price": decimal.Decimal("19.90"), "count": decimal.Decimal("3"), "nan": decimal.Decimal("NaN")}
    assert marshal(item, PY311) == b'{"price": 19.90, "count": 3, "nan": NaN}'


def test_simplejsons_defaults_apply_namedtuples_tuples_and_sets() -> None:
    """simplejson's JSONEncoder defaults, which awslambdaric keeps: namedtuple_as_object, tuple_as_array; a set is not
    serialisable and is awslambdaric's Runtime.MarshalError, "Unable to marshal response: ..."."""
    assert json.loads(marshal({"p": Point(1, 2), "t": (1, 2)}, PY311)) == {"p": {"x": 1, "y": 2}, "t": [1, 2]}
    with pytest.raises(FunctionError) as info:
        marshal({"s": {1}}, PY311)
    assert info.value.error_type == "Runtime.MarshalError"
    assert info.value.error_message == "Unable to marshal response: Object of type set is not JSON serializable"


def test_bytes_go_out_as_they_are() -> None:
    """awslambdaric's marshal_response returns bytes unchanged ("application/unknown")."""
    assert marshal(b"\x00raw", PY311) == b"\x00raw"


def test_non_ascii_is_escaped_except_on_python_312_and_later() -> None:
    """awslambdaric passes ensure_ascii=False only when AWS_EXECUTION_ENV is AWS_Lambda_python3.12 to 3.15; without
    the variable, in-process goes by the tests' own Python."""
    assert marshal("é", PY311) == b'"\\u00e9"'
    assert marshal("é", PY312) == '"é"'.encode()


def test_the_response_cap_is_the_emulators_6291556_bytes_in_its_words() -> None:
    """aws-lambda-runtime-interface-emulator internal/lambda/interop/model.go: MaxPayloadSize = 6*1024*1024 + 100;
    the words of the emulator the plugin runs and of Lambda (tests/e2e/test_runtime_fidelity.py compares them)."""
    assert MAX_RESPONSE == 6_291_556
    assert len(marshal("x" * (MAX_RESPONSE - 2), PY311)) == MAX_RESPONSE  # the quotes make it exactly the cap
    with pytest.raises(FunctionError) as info:
        marshal("x" * (MAX_RESPONSE - 1), PY311)
    assert info.value.error_type == "Function.ResponseSizeTooLarge"
    assert info.value.error_message == ("Response payload size exceeded maximum allowed payload size (6291556 bytes).")


def test_a_handler_returning_decimals_and_bytes_answers_as_the_container_does() -> None:
    """The result is read back as the emulator's answer is: JSON bytes are the result, other bytes the same
    'not JSON' error the container target raises (container/outcome.py decode_answer)."""
    fn = InProcessFunction(lambda event, context: {"n": decimal.Decimal("1.5")})
    try:
        assert fn.invoke_event({}) == {"n": 1.5}
    finally:
        fn.close()
    raw = InProcessFunction(lambda event, context: b'{"a": 1}' if event else b"plain")
    try:
        assert raw.invoke_event({"json": 1}) == {"a": 1}
        with pytest.raises(InvocationError, match="something that is not JSON: 'plain'"):
            raw.invoke_event({})
    finally:
        raw.close()


def test_the_context_has_awslambdarics_types() -> None:
    """awslambdaric lambda_context.py: memory_limit_in_mb is os.environ's string, identity always a CognitoIdentity
    (its fields None without one), client_context None without one, tenant_id the caller's."""
    context = context_for({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, timeout=3)
    assert context.memory_limit_in_mb == "1024"
    assert isinstance(context.identity, CognitoIdentity)
    assert (context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id) == (None, None)
    assert context.client_context is None and context.tenant_id is None
    given = context_for({}, timeout=3, tenant_id="blue", client_context={"custom": {"k": "v"}, "client": {}})
    assert given.tenant_id == "blue"
    assert given.client_context is not None and given.client_context.custom == {"k": "v"}
    assert given.client_context.env is None and given.client_context.client is not None
    assert given.client_context.client.app_title is None


def test_tenant_id_and_client_context_reach_the_handler_per_call(capfd: pytest.CaptureFixture[str]) -> None:
    """A per-call option, as the Invoke API's TenantId (the emulator reads X-Amz-Tenant-Id); log() writes to stdout
    without a newline, as awslambdaric does without a log sink."""

    def handler(event: object, context: object) -> object:
        context.log("logged")  # type: ignore[attr-defined]
        return [context.tenant_id, context.client_context and context.client_context.custom]  # type: ignore[attr-defined]

    fn = InProcessFunction(handler)
    try:
        assert fn.invoke_event({}, tenant_id="blue", client_context={"custom": {"a": 1}}) == ["blue", {"a": 1}]
        assert fn.invoke_event({}) == [None, None]
    finally:
        fn.close()
    assert "loggedlogged" in capfd.readouterr().out


def test_the_container_sends_the_same_as_headers_the_emulator_reads() -> None:
    """aws-lambda-rie internal/lambda/rie/handlers.go: X-Amz-Tenant-Id, and X-Amz-Client-Context as base64 JSON."""
    headers = caller_headers(tenant_id="blue", client_context={"custom": {"a": 1}})
    assert headers == {"X-Amz-Tenant-Id": "blue", "X-Amz-Client-Context": "eyJjdXN0b20iOiB7ImEiOiAxfX0="}
    assert caller_headers() == {}


APP = """
import os
AT_IMPORT = os.getcwd()
with open("data.txt") as f:  # relative to the task root, as on Lambda
    DATA = f.read()

def handler(event, context):
    return {"import": AT_IMPORT, "call": os.getcwd(), "data": DATA,
            "root": os.environ.get("LAMBDA_TASK_ROOT"), "handler": os.environ.get("_HANDLER")}
"""


def test_the_handler_imports_and_runs_in_its_task_root_and_the_tests_keep_theirs(tmp_path: Path) -> None:
    """Lambda runs the function in its task root, LAMBDA_TASK_ROOT, with _HANDLER the configured handler
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html); in-process, the source folder."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(APP)
    (src / "data.txt").write_text("found")
    (tmp_path / "Dockerfile").write_text('FROM public.ecr.aws/lambda/python:3.11\nCOPY src/ ./\nCMD ["app.handler"]\n')
    before = os.getcwd()
    fn = load(Settings(rootdir=tmp_path, target="inprocess"), FunctionSpec())
    try:
        assert os.getcwd() == before
        result = fn.invoke_event({})
        assert os.getcwd() == before
    finally:
        fn.close()
    root = str(src.resolve())
    assert result == {"import": root, "call": root, "data": "found", "root": root, "handler": "app.handler"}
    assert "LAMBDA_TASK_ROOT" not in os.environ


def test_a_handler_calling_another_in_process_function_does_not_wait_for_itself(tmp_path: Path) -> None:
    """The working directory is taken in turns by callers; a handler's own call of another function is inside its
    caller's turn (else it would wait for the turn its caller holds until its timeout)."""
    inner = InProcessFunction(lambda event, context: os.getcwd(), task_root=tmp_path, timeout=2)
    outer = InProcessFunction(lambda event, context: inner.invoke_event({}), task_root=tmp_path.parent, timeout=2)
    try:
        assert outer.invoke_event({}) == str(tmp_path.parent)
    finally:
        outer.close()
        inner.close()
