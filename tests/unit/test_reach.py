"""Where the tests reach the function (engine/reach.py): one pure decision for every place the tests may run."""

from __future__ import annotations

import pytest

from pytest_lambda_container.build.image import ImageInfo
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.container import launch
from pytest_lambda_container.engine.reach import LOCAL, Reach, TestsContainer, container_ids, decide, url

AWS = ImageInfo("sha256:aws", "fn:aws", ImageConfig(entrypoint=("/lambda-entrypoint.sh",), cmd=("app.handler",)))

ID = "7b9a5672dbf16b235cf0b97cb117dfeabe1ddca00438e079881d3e001f3e5ea3"


def test_on_the_engines_host_the_function_is_on_loopback_only():
    reach = decide("unix:///var/run/docker.sock", override=None, tests_container=None)
    assert (reach.host, reach.publish_on, reach.network, reach.same_host) == ("127.0.0.1", "127.0.0.1", None, True)
    assert "runs on this machine" in reach.describe()


def test_in_a_container_of_the_same_engine_the_function_joins_its_network_and_publishes_nothing():
    tests = TestsContainer(ID, "ci-job", ("bridge",))
    reach = decide("unix:///var/run/docker.sock", override=None, tests_container=tests)
    assert (reach.host, reach.publish_on, reach.network, reach.same_host) == (None, None, "bridge", False)
    assert "container ci-job" in reach.describe() and "nothing published" in reach.describe()
    options = launch.plan(AWS, labels={}, reach=reach).create_options(name="n", port=9000)
    assert "ports" not in options and options["network"] == "bridge"
    assert url(reach, published_port=0, container_address="172.17.0.5") == "http://172.17.0.5:8080"


def test_the_network_the_tests_container_was_started_on_comes_first():
    tests = TestsContainer(ID, "job", ("aaa", "bridge", "ci_net"), network_mode="ci_net")
    assert decide("unix:///s", override=None, tests_container=tests).network == "ci_net"
    on_host = TestsContainer(ID, "job", ("host",), network_mode="host")
    assert decide("unix:///s", override=None, tests_container=on_host).host == "127.0.0.1"


@pytest.mark.parametrize(
    ("address", "host", "publish"),
    [
        ("tcp://docker:2376", "docker", "0.0.0.0"),  # GitLab's docker:dind service
        ("tcp://10.0.0.7:2375", "10.0.0.7", "0.0.0.0"),
        ("ssh://ci@build-host", "build-host", "0.0.0.0"),
        ("tcp://127.0.0.1:2375", "127.0.0.1", "127.0.0.1"),  # a local engine over tcp: still loopback only
        ("tcp://localhost:2375", "localhost", "127.0.0.1"),
        ("tcp://[::1]:2375", "::1", "127.0.0.1"),
    ],
)
def test_a_remote_engine_is_reached_at_its_hosts_address(address: str, host: str, publish: str):
    reach = decide(address, override=None, tests_container=None)
    assert (reach.host, reach.publish_on, reach.network, reach.same_host) == (host, publish, None, False)
    assert address in reach.why
    options = launch.plan(AWS, labels={}, reach=reach).create_options(name="n", port=0)
    assert options["ports"] == {"8080/tcp": (publish, None)}


def test_the_override_wins_over_everything():
    tests = TestsContainer(ID, "job", ("bridge",))
    reach = decide("tcp://docker:2376", override="10.1.2.3", tests_container=tests)
    assert (reach.host, reach.publish_on, reach.network) == ("10.1.2.3", "0.0.0.0", None)
    assert "PYTEST_LAMBDA_CONTAINER_HOST=10.1.2.3" in reach.describe()
    assert decide("tcp://docker:2376", override="localhost", tests_container=None).publish_on == "127.0.0.1"


def test_urls_bracket_ipv6_hosts():
    assert url(Reach("::1", "127.0.0.1", None, ""), published_port=9000, container_address="") == "http://[::1]:9000"
    assert url(LOCAL, published_port=9000, container_address="") == "http://127.0.0.1:9000"


def test_this_processs_container_id_is_read_from_mountinfo_cgroup_or_hostname():
    mountinfo = f"228 211 254:0 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda rw\n"
    cgroup = f"9:name=systemd:/docker/{ID}\n"
    assert container_ids(mountinfo, cgroup, "7b9a5672dbf1") == [ID]
    podman = f"1 2 0:1 /overlay-containers/{ID[::-1]}/userdata/hostname /etc/hostname rw\n"
    assert container_ids(podman, "", "x") == [ID[::-1]]
    assert container_ids("", "0::/user.slice/docker-" + ID + ".scope\n", "x") == [ID]
    # No id anywhere: only a hostname that looks like one is tried; the engine has the last word.
    assert container_ids("", "9:name=systemd:/\n", "vm") == []
    assert container_ids("", "", "0123456789ab") == ["0123456789ab"]


def test_an_engines_host_is_not_taken_for_one_of_its_containers():
    # The engine's host lists each container's shm mount in its own mountinfo: those ids are not this process's.
    shm = f"300 29 0:52 / /var/lib/docker/containers/{ID}/mounts/shm rw,nosuid - tmpfs shm rw,size=65536k\n"
    assert container_ids(shm, "0::/user.slice/user-0.slice/session-1.scope\n", "build-host") == []


def test_the_header_names_the_engine_where_it_came_from_and_the_address(monkeypatch: pytest.MonkeyPatch):
    from pytest_lambda_container.engine import reach

    monkeypatch.setenv("DOCKER_HOST", "tcp://docker:2376")
    monkeypatch.delenv("PYTEST_LAMBDA_CONTAINER_HOST", raising=False)
    line = reach.header()
    assert line.startswith("lambda-container: engine tcp://docker:2376 (from DOCKER_HOST); function reached at docker")
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_HOST", "10.1.2.3")
    assert (
        "function reached at 10.1.2.3 (published on 0.0.0.0): PYTEST_LAMBDA_CONTAINER_HOST=10.1.2.3" in reach.header()
    )
