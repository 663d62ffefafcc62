"""Lambda's sandbox as container options, checked without Docker."""

from __future__ import annotations

import pytest

from pytest_lambda_container import FunctionError
from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.container import launch
from pytest_lambda_container.container.sandbox import Sandbox, cause_in, explain
from pytest_lambda_container.engine import hygiene

CUSTOM = ImageInfo("sha256:c", "fn:c", ImageConfig(entrypoint=("python", "-m", "awslambdaric"), cmd=("app.handler",)))


def test_the_sandbox_is_lambdas_limits():
    options = Sandbox(memory=512, ephemeral_storage=1024, host_cpus=8).create_options()
    assert options["read_only"] is True
    assert options["tmpfs"] == {"/tmp": "size=1024m,mode=1777"}
    # The tmpfs counts against the container's memory: the limit holds both, and no swap on top.
    assert options["mem_limit"] == options["memswap_limit"] == "1536m"
    assert options["user"] == "993:990"
    # A CFS quota, not nano_cpus: Docker can change it on a running container (the init's burst, then this share).
    assert (options["cpu_period"], options["cpu_quota"]) == (100_000, int(512 / 1769 * 100_000))


def test_cpu_is_proportional_to_memory_capped_at_the_hosts_cores_and_overridable():
    assert Sandbox(memory=1769, host_cpus=8).vcpus == 1.0
    assert Sandbox(memory=10240, host_cpus=2).vcpus == 2.0
    assert Sandbox(memory=128, cpus=1.5, host_cpus=2).create_options()["cpu_quota"] == 150_000


def test_the_init_gets_a_burst_of_up_to_two_vcpus_within_the_hosts_cores():
    """AWS's Lambda Web Adapter docs: "10 seconds for function initialization with burst CPU" (users measure up to
    2 vCPUs); never less than the invocation's share, never more than the host has."""
    assert Sandbox(memory=512, host_cpus=8).burst_vcpus == 2.0
    assert Sandbox(memory=512, host_cpus=1).burst_vcpus == 1.0
    assert Sandbox(memory=10240, host_cpus=8).burst_vcpus == 10240 / 1769
    assert Sandbox.cpu_update(0.001) == {"cpu_period": 100_000, "cpu_quota": 1000}  # the kernel's floor is 1 ms


def test_sandbox_off_adds_nothing():
    assert Sandbox(enabled=False).create_options() == {}
    assert "sandbox off" in Sandbox(enabled=False).header()


def test_the_plan_carries_the_sandbox_and_tells_the_function_its_memory():
    plan = launch.plan(
        CUSTOM, labels=hygiene.labels("s1"), emulator_volume="plc-emulator-x", sandbox=Sandbox(memory=1024)
    )
    options = plan.create_options(name="plc-s1-x", port=9000)
    assert options["read_only"] is True and options["user"] == "993:990"
    assert options["environment"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1024"
    # The emulator is mounted read-only, whatever the sandbox.
    assert options["volumes"] == {"plc-emulator-x": {"bind": launch.RIE_DIR, "mode": "ro"}}


def test_engine_options_still_apply_under_the_sandbox():
    core = {"Name": "core", "Soft": 0, "Hard": 0}
    plan = launch.plan(
        CUSTOM, labels={}, emulator_volume="plc-emulator-x", sandbox=Sandbox(), engine_options={"ulimits": [core]}
    )
    options = plan.create_options(name="n", port=0)
    assert core in options["ulimits"] and options["read_only"] is True


def test_the_user_hears_why_a_write_or_a_read_failed():
    erofs = explain(FunctionError("OSError", "[Errno 30] Read-only file system: '/function/x'"))
    assert str(erofs).count("Lambda's filesystem is read-only except /tmp") == 1
    assert "--lambda-sandbox off" in str(erofs)
    denied = explain(FunctionError("PermissionError", "[Errno 13] Permission denied: '/function/secret.txt'"))
    assert "unprivileged user" in str(denied) and "secret.txt" in str(denied)
    other = explain(FunctionError("ValueError", "bad"))
    assert str(other) == "ValueError: bad"


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("OSError: [Errno 30] Read-only file system: '/function/out.txt'", "read-only except /tmp"),
        ("PermissionError: [Errno 13] Permission denied: '/function/secret.txt'", "unprivileged user"),
        ("OSError: [Errno 28] No space left on device", "--lambda-ephemeral-storage"),
        ("MemoryError", "--lambda-memory"),
    ],
)
def test_a_log_line_that_shows_the_sandbox_at_work_is_found_with_its_hint(line, hint):
    # As Mangum logs an app's exception before answering 500 (issue 21, item 3): the line is among the record's.
    log = f"[ERROR]\t2026-12-07T14:00:30.667Z\tid\tException in 'http' protocol.\nTraceback:\n  x\n{line}\nnext\n"
    found = cause_in(log)
    assert found is not None and found[0] == line and hint in found[1]
    assert cause_in("[INFO]\tall fine\nValueError: bad\n") is None


def test_the_header_says_what_the_sandbox_is():
    header = Sandbox(memory=256, ephemeral_storage=1024, host_cpus=2).header()
    assert "sandbox on" in header and "memory 256 MB" in header and "/tmp 1024 MB" in header
