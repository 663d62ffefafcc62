"""Deliver files into containers read-only, with no host path: a named volume per content, filled once through the
engine's own API.

A bind mount names a path of the test process's filesystem, which exists on the engine's host only when the tests
run there: inside a container with the host's socket mounted, against `docker:dind` or a remote engine, the engine
finds nothing (or an empty folder it makes). And the sandbox's read-only root filesystem refuses `put_archive`
(EMULATOR.md), while a derived image would change the image ID under test. So each `Bundle` lives in a named volume,
`plc-<kind>-<digest>`, labelled as ours, that a short-lived helper container (created, never started: its root
filesystem stays writable, and it runs nothing) fills with `put_archive`; containers mount it read-only.

Concurrency: two runs (processes, or CI jobs on one engine) may want the same volume at once. The engine is the
lock: the helper's name is fixed per volume and only one create of a name succeeds; the others wait for it to go.
A marker written after the files says the volume is complete, so a run killed while filling leaves a volume the
next one fills again, and a helper older than `STALE_AFTER` (a fill takes a second) is taken for a dead run's.

Every run after the first finds the volume complete without a helper (issue 17: a helper's create, read and removal
cost every run of one test ~0.4 s): a second, empty volume, `<volume>-complete`, made after a fill, vouches for the
volume it names by that volume's creation time (a volume removed and made again, empty, is not vouched for). Two
looks at the engine's volumes then say all; anything else takes the helper, whose in-volume marker stays the truth.

Usage (the emulator, or anything else a container needs)::

    bundle = Bundle.of("emulator", "/aws-lambda", {"aws-lambda-rie": Path(rie)})
    volume = deliver(engine, bundle, helper_image=image.id)
    plan = launch.plan(image, ..., mounts={volume: bundle.mount})
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from docker.errors import APIError, NotFound

from ..engine.client import Engine
from ..engine.hygiene import LABEL, LABEL_DELIVERY
from ..engine.liveness import age
from ..errors import ContainerError, EngineRefused, LambdaContainerError
from . import memo

#: The file that says a volume holds its whole bundle (written last).
MARKER = ".pytest-lambda-container-complete"
#: A fill helper this old belongs to a run that died while filling.
STALE_AFTER = 120.0
#: How long a run waits for another's fill before it gives up.
WAIT_LIMIT = 300.0
#: On a marker volume: the creation time of the volume it says is complete.
LABEL_VOUCHES = f"{LABEL_DELIVERY}.complete-for"


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: its path under the mount, its bytes (or the host file that holds them, read where they
    are needed), its mode."""

    path: str
    data: bytes | Path
    mode: int = 0o644

    def read(self) -> bytes:
        """The file's bytes."""
        return self.data.read_bytes() if isinstance(self.data, Path) else self.data


@dataclass(frozen=True)
class Bundle:
    """Files that containers get read-only at `mount`; `kind` names what they are (emulator, coverage, ...).

    `digests`: a folder where the digest of a bundle of host files is remembered (`container.memo`)."""

    kind: str
    mount: str
    files: tuple[BundleFile, ...]
    digests: Path | None = field(default=None, compare=False)

    @classmethod
    def of(cls, kind: str, mount: str, files: Mapping[str, Path | bytes]) -> Bundle:
        """A bundle of `files` (path under the mount → a host file, whose mode is kept, or bytes: mode 0644)."""
        entries = []
        for name, source in sorted(files.items()):
            if isinstance(source, Path):
                entries.append(BundleFile(name, source.read_bytes(), source.stat().st_mode & 0o777))
            else:
                entries.append(BundleFile(name, source))
        return cls(kind, mount, tuple(entries))

    @cached_property
    def digest(self) -> str:
        """What identifies the content: the same files, the same volume, whichever run or machine made it (hashed
        once: the emulator alone is 9 MB, and every name of the delivery is made of it; with `digests`, once a host)."""
        hosts = [f.data for f in self.files if isinstance(f.data, Path)]
        if self.digests is None or len(hosts) < len(self.files):
            return self._hash()
        salt = "\0".join([self.mount, *(f"{f.path}:{f.mode:o}" for f in self.files)])
        return memo.remembered(self.digests, salt, hosts, self._hash)

    def _hash(self) -> str:
        h = hashlib.sha256(self.mount.encode())
        for f in self.files:
            data = f.read()
            h.update(f"\0{f.path}\0{f.mode:o}\0{len(data)}\0".encode())
            h.update(data)
        return h.hexdigest()

    @property
    def volume(self) -> str:
        """The volume's name: the kind and the content's digest."""
        return f"plc-{self.kind}-{self.digest[:16]}"

    def archive(self) -> bytes:
        """The files as a tar, owned by root, that anyone may read (and run, where they are executable)."""
        return _tar([(f.path, f.read(), f.mode | 0o444) for f in self.files])


def _tar(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def deliver(engine: Engine, bundle: Bundle, *, helper_image: str) -> str:
    """The name of a volume holding `bundle`, filled (once per content and engine) through a helper container of
    `helper_image` (any image the engine has: the one under test will do). Mount it read-only at `bundle.mount`."""
    deadline = time.monotonic() + WAIT_LIMIT
    with engine.errors(f"the delivery of {bundle.kind} files into volume {bundle.volume}"):
        if _vouched_for(engine, bundle):
            return bundle.volume
        volume = engine.client.volumes.create(
            bundle.volume, labels={LABEL: "1", LABEL_DELIVERY: bundle.kind, f"{LABEL_DELIVERY}.digest": bundle.digest}
        )
        while not _fill_once(engine, bundle, helper_image):
            if time.monotonic() > deadline:
                raise ContainerError(
                    f"another run has been filling volume {bundle.volume} for over {WAIT_LIMIT:.0f}s; if none is "
                    f"running, remove its helper with `docker rm -f {_helper_name(bundle)}`"
                )
            time.sleep(0.2)
        # Read after the fill: Docker's local driver states the volume folder's last change as its CreatedAt, which
        # the fill moves (a create's own answer, a second earlier, would vouch for no volume).
        _vouch_for(engine, bundle, created_at(engine.client.volumes.get(volume.name).attrs))
    return bundle.volume


def marker_volume(bundle: Bundle) -> str:
    """The empty volume that says `bundle.volume` is complete."""
    return f"{bundle.volume}-complete"


def created_at(attrs: Mapping[str, object] | None) -> str:
    """A volume's creation time as the engine states it (Docker's `CreatedAt`, Podman's too)."""
    return str((attrs or {}).get("CreatedAt") or "")


def _vouched_for(engine: Engine, bundle: Bundle) -> bool:
    """Whether the marker volume vouches for the volume as it is now (the same one it was made for)."""
    try:
        content = engine.client.volumes.get(bundle.volume)
        marker = engine.client.volumes.get(marker_volume(bundle))
    except NotFound:
        return False
    made_for = ((marker.attrs or {}).get("Labels") or {}).get(LABEL_VOUCHES)
    return bool(made_for) and made_for == created_at(content.attrs)


def _vouch_for(engine: Engine, bundle: Bundle, content_created: str) -> None:
    """Make the marker volume for the volume of `content_created` (an older marker, of an older volume, goes)."""
    if not content_created:
        return  # an engine that does not say: every run takes the helper
    name = marker_volume(bundle)
    try:
        old = engine.client.volumes.get(name)
    except NotFound:
        old = None
    if old is not None:
        if ((old.attrs or {}).get("Labels") or {}).get(LABEL_VOUCHES) == content_created:
            return
        try:
            old.remove(force=True)
        except NotFound:
            pass  # another run replaced it at the same moment: creating it again is as good
    labels = {LABEL: "1", LABEL_DELIVERY: bundle.kind, LABEL_VOUCHES: content_created}
    engine.client.volumes.create(name, labels=labels)


def _helper_name(bundle: Bundle) -> str:
    return f"{bundle.volume}-fill"


def _fill_once(engine: Engine, bundle: Bundle, helper_image: str) -> bool:
    """Fill the volume unless it is complete; False when another run holds the helper's name (try again)."""
    name = _helper_name(bundle)
    try:
        helper = engine.client.containers.create(
            helper_image,
            name=name,
            # Never started: an entrypoint is only there because an image may have none, and create needs one.
            entrypoint=[f"{bundle.mount}/{MARKER}"],
            command=[],
            labels={LABEL: "1", LABEL_DELIVERY: bundle.kind},
            volumes={bundle.volume: {"bind": bundle.mount, "mode": "rw"}},
            network_disabled=True,
        )
    except APIError as exc:
        if exc.status_code == 409:  # the name is taken: another run is filling it
            _remove_if_stale(engine, name)
            return False
        raise
    try:
        try:
            helper.get_archive(f"{bundle.mount}/{MARKER}")
        except NotFound:
            helper.put_archive(bundle.mount, bundle.archive())
            helper.put_archive(bundle.mount, _tar([(MARKER, bundle.digest.encode(), 0o444)]))
    finally:
        helper.remove(force=True)
    return True


def _remove_if_stale(engine: Engine, name: str) -> None:
    """Remove the fill helper `name` if a run that died while filling left it."""
    try:
        helper = engine.client.containers.get(name)
    except NotFound:
        return
    if age(helper.attrs.get("Created")) > STALE_AFTER:
        try:
            helper.remove(force=True)
        except NotFound:
            pass


def remove_volumes(engine: Engine, *, kind: str | None = None, dry_run: bool = False) -> tuple[list[str], list[str]]:
    """Remove our delivery volumes (of `kind`, or all) that no container uses: (removed, in use). Leftover fill
    helpers go too."""
    removed: list[str] = []
    busy: list[str] = []
    wanted: dict[str, str | list[str] | bool] = {
        "label": [LABEL, f"{LABEL_DELIVERY}={kind}" if kind else LABEL_DELIVERY]
    }
    with engine.errors("the listing of our volumes"):
        helpers = engine.client.containers.list(all=True, ignore_removed=True, filters=wanted)
        volumes = engine.client.volumes.list(filters=wanted)
    for helper in helpers:
        if not dry_run:
            try:
                helper.remove(force=True)
            except NotFound:
                pass
    for volume in volumes:
        name = volume.name or ""
        if LABEL_VOUCHES in ((volume.attrs or {}).get("Labels") or {}):
            # A marker: never in use, and not worth a line of its own; its volume's removal is what counts.
            if not dry_run:
                try:
                    with engine.errors(f"the removal of volume {name}"):
                        try:
                            volume.remove()
                        except NotFound:
                            pass
                except LambdaContainerError:
                    pass  # a marker left alone vouches for nothing once its volume is gone
            continue
        if dry_run:
            removed.append(name)
            continue
        try:
            with engine.errors(f"the removal of volume {name}"):
                try:
                    volume.remove()
                except NotFound:
                    continue
        except EngineRefused as exc:
            if exc.status_code == 409:  # a container (a kept or reused one) still mounts it
                busy.append(name)
                continue
            raise
        except LambdaContainerError:
            busy.append(name)
            continue
        removed.append(name)
    return removed, busy
