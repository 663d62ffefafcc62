"""When the engine has a removal in hand, so that the process may exit before it ends (issue 17).

A forced removal of a running container is ~0.2-0.3 s of the engine's time (the kill, the exit's network teardown,
the layer's removal), and at the end of a one-test run all of it is on the run's critical path if the process waits
for it. Docker needs no waiting client: `ContainerRm` takes no request context (moby v20.10
daemon/delete.go: `ContainerRm(name string, config *types.ContainerRmConfig)`, and `cleanupContainer`'s kill and stop
take none either; on master they run under `context.TODO()`), so once the daemon has begun a removal, a client that
goes away does not stop it.

What tells that it has begun, early and for sure:

- not `inspect` (measured on Docker 20.10: "removing" shows only once the container has stopped, ~0.24 s of a 0.26 s
  removal): `State.StateString()` says "running" while the process runs, before `RemovalInProgress`, and
  `handleContainerExit` (daemon/monitor.go) holds the container's lock, which `inspect` takes, through the network
  teardown;
- but the engine's event log: `ContainerRm` marks the container (`SetRemovalInProgress`) and, for a running one,
  `cleanupContainer` calls `daemon.Kill`, whose `killWithSignal` (daemon/kill.go) logs `kill` once the signal is sent
  (~0.02-0.05 s in); the end is `destroy`. The event log takes no container lock, and replays what it keeps (its last
  256 events) from a given time. The plugin itself never asks the engine to kill a container it serves (it removes
  it), so a `kill` of one that this process is removing is that removal's. An exited container has no `kill`: then
  `destroy`, its removal's end (quick: nothing runs, its network is torn down already).

Podman is not trusted with this: its compat API serves a removal under the request's context, which a client that
leaves may cancel. There, and wherever the events cannot be read, the process waits for the removals' end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import LambdaContainerError
from .client import Engine
from .liveness import moment

#: The engine's events that show a container's removal under way (`kill`) or over (`destroy`).
TAKEN_OVER = ("kill", "destroy")


def since_of(created: Iterable[str]) -> int | None:
    """The engine time (whole seconds, rounded down) to read the event log from: the earliest of the containers'
    creation times (`Created`, the engine's own clock, so a remote engine's skew does not matter), None when one cannot
    be read."""
    moments = [moment(stamp) for stamp in created]
    if not moments or any(m is None for m in moments):
        return None
    return min(int(m.timestamp()) for m in moments if m is not None)


def remaining(left: frozenset[str], event: Mapping[str, Any]) -> frozenset[str]:
    """The containers in `left` not yet shown taken over, after `event` (one of the event log's, decoded)."""
    if event.get("Type", "container") != "container" or event.get("Action") not in TAKEN_OVER:
        return left
    actor = str((event.get("Actor") or {}).get("ID") or event.get("id") or "")
    return left - {actor}


@dataclass(frozen=True)
class Removals:
    """The removals of one session's teardown (container ids, creation times) on one engine."""

    engine: Engine
    containers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, engine: Engine | None, sdk_containers: Iterable[Any]) -> Removals | None:
        """The removals of `sdk_containers` (the docker SDK's, None for one never started) on `engine`; None where
        the process must wait for their end (Podman, no engine)."""
        if engine is None or engine.is_podman:
            return None
        found = [(c.id, str((c.attrs or {}).get("Created") or "")) for c in sdk_containers if c is not None and c.id]
        return cls(engine, tuple(found))

    def taken_over(self) -> bool:
        """Block until the engine has logged every removal as under way; False when it cannot tell (the events
        cannot be read, the log no longer holds them): then the caller waits for the removals' end."""
        if not self.containers:
            return True
        since = since_of(created for _, created in self.containers)
        if since is None:
            return False
        left = frozenset(container_id for container_id, _ in self.containers)
        filters = {"type": "container", "container": sorted(left), "event": list(TAKEN_OVER)}
        try:
            with self.engine.errors("a read of the engine's events"):
                for event in self.engine.client.events(since=since, filters=filters, decode=True):
                    left = remaining(left, event)
                    if not left:
                        return True
        except (LambdaContainerError, KeyError, RuntimeError, ValueError):
            # KeyError, RuntimeError: requests reading os.environ while another thread changes it (docker.py).
            return False
        return False
