"""`--lambda-reuse`: containers that outlive the run, for the next run with the same image and settings to use warm.

A reused container is found by its *slot* (which function of which project: the rootdir, the function as the tests
asked for it, and which of a pool's containers) and used only if its *config* (the image's id and everything the
container was started with) is the same; one of another config is replaced. A run holds a lock on each slot it
uses for as long as it runs: a second run at the same time finds the lock taken and starts containers of its own,
removed at its end, so two runs never send calls to one emulator (the classic emulator panics on a second concurrent
call). The lock is the kernel's (flock): a run that was killed holds nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from docker.models.containers import Container
from filelock import FileLock, Timeout

from ..config.function import ResolvedFunction
from ..engine.client import Engine
from ..engine.hygiene import LABEL_REUSE, LABEL_REUSE_CONFIG, LABEL_REUSE_IMAGE, LABEL_REUSE_PROJECT
from ..errors import LambdaContainerError
from .docker import DockerContainer
from .emulator import cache_dir
from .function import LambdaContainer
from .launch import LaunchPlan

Log = Callable[[str], None]


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def slot_of(rootdir: Path, fn: ResolvedFunction, member: int = 0) -> str:
    """Which reused container a function of this project takes: the `member`-th of its pool."""
    return _digest(str(rootdir.resolve()), fn.image, str(fn.dockerfile), str(fn.context), fn.handler, member)


def config_of(plan: LaunchPlan, fn: ResolvedFunction) -> str:
    """What a reused container must have been started with to serve `fn` now: the image (by id: a rebuilt tag is
    another image), the function's settings, and the container's own (command, mounts, sandbox, engine options).
    Not the environment itself: each container gets a log stream name of its own."""
    sandbox = plan.sandbox.create_options() if plan.sandbox else None
    return _digest(
        plan.image.id,
        fn,
        plan.entrypoint,
        plan.command,
        sorted(plan.mounts.items()),
        sandbox,
        plan.engine_options,
        plan.reach.publish_on,
        plan.reach.network,
    )


def labels(plan_labels: Mapping[str, str], slot: str, config: str, image_ref: str, project: Path) -> dict[str, str]:
    """The labels of a reusable container: the session's own, its slot, its config, the image's name (the sweep
    removes it once that name means a newer image) and the project (`clean --project`)."""
    return {
        **plan_labels,
        LABEL_REUSE: slot,
        LABEL_REUSE_CONFIG: config,
        LABEL_REUSE_IMAGE: image_ref,
        LABEL_REUSE_PROJECT: str(project.resolve()),
    }


class Claim:
    """This run's hold on one slot, until `release()` (or the process's end)."""

    def __init__(self, slot: str) -> None:
        folder = cache_dir() / "reuse"
        folder.mkdir(parents=True, exist_ok=True)
        # Not thread-local: a pool's containers are claimed and released from whichever thread.
        self._lock = FileLock(str(folder / f"{slot}.lock"), thread_local=False)
        self.slot = slot

    def take(self) -> bool:
        """Take the slot if no other run holds it."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        self._lock.release(force=True)


def claim(slot: str) -> Claim | None:
    """This run's hold on `slot`, or None while another run holds it."""
    held = Claim(slot)
    return held if held.take() else None


def find(engine: Engine, slot: str) -> list[Container]:
    """The containers in `slot` (normally one), stopped ones too."""
    with engine.errors("the listing of reused containers"):
        return list(
            engine.client.containers.list(all=True, ignore_removed=True, filters={"label": f"{LABEL_REUSE}={slot}"})
        )


def running_with(engine: Engine, slot: str, config: str, log: Log) -> Container | None:
    """The running container of `slot` started with `config`; any other in the slot (another image or settings, or
    stopped) is removed, as the run that needs the slot replaces it."""
    keep: Container | None = None
    for found in find(engine, slot):
        state = (found.attrs.get("State") or {}).get("Status")
        if keep is None and (found.labels or {}).get(LABEL_REUSE_CONFIG) == config and state == "running":
            keep = found
            continue
        why = "it stopped" if state != "running" else "the image or the settings changed"
        log(f"replacing reused container {found.name} ({why})")
        remove(engine, found)
    return keep


def remove(engine: Engine, container: Any) -> bool:
    """Remove a container of ours that this run did not start; whether it is gone."""
    try:
        with engine.errors(f"the removal of container {container.name}"):
            container.remove(force=True)
    except LambdaContainerError:
        return False
    return True


def start(
    engine: Engine, plan: LaunchPlan, fn: ResolvedFunction, *, rootdir: Path, member: int, port: int, log: Log
) -> tuple[LambdaContainer, Claim | None]:
    """The container of `fn` for this run: the one an earlier run left in its slot if it was started with the same
    image and settings (warm), else a new one labelled for the next run; with the run's hold on the slot (None when
    another run holds it: then the container is this run's own, to remove at its end)."""
    slot = slot_of(rootdir, fn, member)
    held = claim(slot)
    if held is None:
        log(f"the reused container of {plan.image.ref} serves another run now: this run starts its own")
        return LambdaContainer.start(engine, plan, port=port, log=log), None
    try:
        config = config_of(plan, fn)
        plan = dataclasses.replace(plan, labels=labels(plan.labels, slot, config, plan.image.ref, rootdir))
        found = running_with(engine, slot, config, log)
        if found is not None:
            try:
                current = DockerContainer.adopt(engine, plan, found, ready_timeout=5.0, log=log)
            except LambdaContainerError as exc:
                log(f"replacing reused container {found.name} (it does not answer: {type(exc).__name__})")
                remove(engine, found)
            else:
                log(f"reusing container {found.name} ({plan.image.ref}) at {current.url}, as the last run left it")
                return LambdaContainer.adopt(engine, current, log=log), held
        return LambdaContainer.start(engine, plan, port=port, log=log), held
    except BaseException:
        held.release()
        raise
