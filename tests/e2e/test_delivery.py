"""Files reach containers through a volume the engine fills, with no host path (container/delivery.py): read-only,
executable, once per content, whoever asks at the same time."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import pytest

from pytest_lambda_container.container import delivery
from pytest_lambda_container.container.delivery import Bundle, BundleFile
from pytest_lambda_container.engine.client import connect
from pytest_lambda_container.engine.hygiene import LABEL, LABEL_DELIVERY

pytestmark = pytest.mark.docker

BASE = "python:3.11-slim"


@pytest.fixture
def bundle(docker_client):
    """A bundle of its own (a nonce makes its content unique), whose volume is removed at the end. Its kind is its
    own too: a removal of the volumes of a kind, here, leaves alone the other tests' that run at the same time."""
    hello = BundleFile("bin/hello", b"#!/bin/sh\necho hello from the volume\n", 0o755)
    made = Bundle(f"test{uuid.uuid4().hex[:8]}", "/plc/test", (hello, BundleFile("nonce", uuid.uuid4().bytes)))
    yield made
    for volume in docker_client.volumes.list(filters={"name": made.volume}):
        volume.remove(force=True)


def run_in(docker_client, volume: str, mount: str, *argv: str) -> bytes:
    """Run `argv` in a sandbox-like container (read-only root, unprivileged) with `volume` mounted read-only."""
    return docker_client.containers.run(
        BASE, list(argv), volumes={volume: {"bind": mount, "mode": "ro"}}, read_only=True, user="993:990", remove=True
    )


def fill_helpers(docker_client, bundle: Bundle) -> list:
    return [
        c
        for c in docker_client.containers.list(all=True, ignore_removed=True, filters={"label": LABEL_DELIVERY})
        if c.name.startswith(bundle.volume)
    ]


def test_two_runs_at_once_fill_one_volume_that_a_read_only_container_runs(bundle, docker_client):
    engines = [connect(), connect()]
    names: list[str] = []
    threads = [
        threading.Thread(target=lambda e=e: names.append(delivery.deliver(e, bundle, helper_image=BASE)))
        for e in engines
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.close()
    assert names == [bundle.volume, bundle.volume]
    assert run_in(docker_client, bundle.volume, bundle.mount, f"{bundle.mount}/bin/hello") == b"hello from the volume\n"
    labels = docker_client.volumes.get(bundle.volume).attrs["Labels"]
    assert labels[LABEL] == "1" and labels[LABEL_DELIVERY] == bundle.kind
    assert fill_helpers(docker_client, bundle) == []  # the helpers are gone


def test_a_fill_a_dead_run_left_half_done_is_done_again(bundle, docker_client, monkeypatch):
    # A run killed while filling: its helper is still there, the files half written, no marker.
    docker_client.volumes.create(bundle.volume)
    left = docker_client.containers.create(
        BASE,
        name=f"{bundle.volume}-fill",
        labels={LABEL_DELIVERY: bundle.kind},
        volumes={bundle.volume: {"bind": bundle.mount, "mode": "rw"}},
    )
    left.put_archive(bundle.mount, delivery._tar([("bin/hello", b"#!/bin/sh\necho half", 0o755)]))
    monkeypatch.setattr(delivery, "STALE_AFTER", 0.0)
    engine = connect()
    try:
        assert delivery.deliver(engine, bundle, helper_image=BASE) == bundle.volume
    finally:
        engine.close()
    assert run_in(docker_client, bundle.volume, bundle.mount, f"{bundle.mount}/bin/hello") == b"hello from the volume\n"
    assert fill_helpers(docker_client, bundle) == []


def test_a_complete_volume_is_not_written_again(bundle, docker_client):
    engine = connect()
    try:
        delivery.deliver(engine, bundle, helper_image=BASE)
        # Changed behind the plugin's back: a second delivery that wrote again would undo it.
        changer = docker_client.containers.create(BASE, volumes={bundle.volume: {"bind": bundle.mount, "mode": "rw"}})
        changer.put_archive(bundle.mount, delivery._tar([("bin/hello", b"#!/bin/sh\necho changed", 0o755)]))
        changer.remove()
        delivery.deliver(engine, bundle, helper_image=BASE)
    finally:
        engine.close()
    assert run_in(docker_client, bundle.volume, bundle.mount, f"{bundle.mount}/bin/hello") == b"changed\n"


def test_clean_removes_volumes_no_container_uses(bundle, docker_client):
    engine = connect()
    try:
        delivery.deliver(engine, bundle, helper_image=BASE)
        listed = subprocess.run(
            [sys.executable, "-m", "pytest_lambda_container", "clean", "--dry-run"], capture_output=True, text=True
        )
        assert f"would remove volume {bundle.volume}" in listed.stdout, listed.stdout + listed.stderr
        user = docker_client.containers.create(BASE, volumes={bundle.volume: {"bind": bundle.mount, "mode": "ro"}})
        try:
            assert delivery.remove_volumes(engine, kind=bundle.kind) == ([], [bundle.volume])
        finally:
            user.remove()
        assert delivery.remove_volumes(engine, kind=bundle.kind) == ([bundle.volume], [])
    finally:
        engine.close()
    assert docker_client.volumes.list(filters={"name": bundle.volume}) == []


def test_a_delivered_volume_is_found_complete_without_a_helper(bundle, docker_client, monkeypatch):
    engine = connect()
    try:
        delivery.deliver(engine, bundle, helper_image=BASE)
        fills: list[str] = []
        real_fill = delivery._fill_once
        monkeypatch.setattr(delivery, "_fill_once", lambda *a: fills.append(a[1].volume) or real_fill(*a))
        assert delivery.deliver(engine, bundle, helper_image=BASE) == bundle.volume
        assert fills == []  # the marker volume vouched for it: no helper, no look inside
        # The volume removed behind the marker's back and made again, empty: the marker does not vouch for that one
        # (told apart by its creation time, which the engine states to the second: made again until it differs).
        vouched = delivery.created_at(docker_client.volumes.get(bundle.volume).attrs)
        while delivery.created_at(docker_client.volumes.get(bundle.volume).attrs) == vouched:
            docker_client.volumes.get(bundle.volume).remove()
            docker_client.volumes.create(bundle.volume)
        assert delivery.deliver(engine, bundle, helper_image=BASE) == bundle.volume
        assert fills == [bundle.volume]
    finally:
        engine.close()
    assert run_in(docker_client, bundle.volume, bundle.mount, f"{bundle.mount}/bin/hello") == b"hello from the volume\n"
