"""The in-process runtime and the container's agree: the same handler gives the same answers on both targets, as
awslambdaric (4.2.2, in both images) and aws-lambda-rie give them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container import FunctionError, Settings
from pytest_lambda_container.config.function import FunctionSpec
from pytest_lambda_container.container.protocol import INVOKE_PATH
from pytest_lambda_container.deployed.invoke_api import DeployedFunction
from pytest_lambda_container.inprocess.function import load
from pytest_lambda_container.inprocess.marshal import MAX_RESPONSE

pytestmark = pytest.mark.docker

IMAGES = Path(__file__).resolve().parents[1] / "images"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["custom", "aws"])
def both(request, lambda_container_factory, lambda_image):
    """The runtime probe in a container (a custom image FROM the example app's, or an AWS base image) and in-process."""
    if request.param == "custom":
        spec = {"dockerfile": IMAGES / "Dockerfile.custom-runtime", "build_args": {"BASE": lambda_image.id}}
    else:
        spec = {"dockerfile": IMAGES / "Dockerfile.aws-runtime"}
    container = lambda_container_factory(**spec)
    inprocess = load(Settings(rootdir=ROOT, target="inprocess"), FunctionSpec.of(ROOT, **spec))
    yield container, inprocess
    inprocess.close()


def test_decimals_namedtuples_and_the_context_are_the_same_on_both_targets(both):
    """awslambdaric's marshaller (Decimal as its digits, namedtuple as an object) and context (memory a string,
    identity a CognitoIdentity, tenant_id from the emulator's X-Amz-Tenant-Id header, client context from
    X-Amz-Client-Context); the function runs in its task root on both."""
    container, inprocess = both
    sent = {"tenant_id": "blue", "client_context": {"custom": {"k": "v"}}}
    there, here = container.invoke_event({}, **sent), inprocess.invoke_event({}, **sent)
    assert there == here
    assert here["decimal"] == 19.9 and here["point"] == {"x": 1, "y": 2} and here["memory"] == "512"
    assert here["identity"] == ["CognitoIdentity", None, None]
    assert (here["tenant_id"], here["client_context"], here["in_task_root"]) == ("blue", {"k": "v"}, [True, True])
    assert container.invoke_event({})["tenant_id"] is None


def test_bytes_and_unmarshallable_results_fail_alike(both):
    """Bytes go out raw (awslambdaric's marshal_response); a set is Runtime.MarshalError on both."""
    container, inprocess = both
    assert container.invoke_event({"give": "bytes"}) == inprocess.invoke_event({"give": "bytes"}) == {"raw": True}
    errors = []
    for fn in (container, inprocess):
        with pytest.raises(FunctionError) as info:
            fn.invoke_event({"give": "set"})
        errors.append((info.value.error_type, info.value.error_message))
    assert (
        errors[0]
        == errors[1]
        == ("Runtime.MarshalError", "Unable to marshal response: Object of type set is not JSON serializable")
    )


def test_the_response_cap_is_the_emulators_on_both(both):
    """aws-lambda-rie's MaxPayloadSize, 6 MiB + 100 bytes: a result of exactly that many bytes passes, one more is
    Function.ResponseSizeTooLarge in the emulator's words."""
    container, inprocess = both
    for fn in (container, inprocess):
        assert len(fn.invoke_event({"give": "big", "size": MAX_RESPONSE - 2})) == MAX_RESPONSE - 2
    errors = []
    for fn in (container, inprocess):
        with pytest.raises(FunctionError) as info:
            fn.invoke_event({"give": "big", "size": MAX_RESPONSE - 1})
        errors.append((info.value.error_type, info.value.error_message))
    assert errors[0] == errors[1]
    assert errors[0][0] == "Function.ResponseSizeTooLarge" and "(6291556 bytes)" in errors[0][1]


def test_the_function_target_sends_them_through_the_invoke_api(both):
    """Lambda's Invoke API carries TenantId (header X-Amz-Tenant-Id) and ClientContext (base64 JSON), which the
    emulator hands the runtime as it does the container target's."""
    container, _ = both
    # At the emulator's invoke URL the function target needs no name nor credentials.
    url = container.url + INVOKE_PATH
    settings = Settings(rootdir=ROOT, target="function", function="function", endpoint_url=url, timeout=30)
    deployed = DeployedFunction.from_settings(settings)
    result = deployed.invoke_event({}, tenant_id="green", client_context={"custom": {"via": "invoke"}})
    assert (result["tenant_id"], result["client_context"]) == ("green", {"via": "invoke"})
