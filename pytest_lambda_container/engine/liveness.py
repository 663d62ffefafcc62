"""Facts about the runs and containers the sweep judges: whether a run's process is alive on this host, and how old
an engine's timestamp is. Pure: no engine, no pytest (engine/hygiene.py's sweep, the delivery's, the handoff's)."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this host (one that is not ours to signal does). A zombie does not: a process
    that ended and was never reaped, as every process of a killed run is where no init reaps orphans (a container
    without `--init`): xdist's workers, once their killed controller's gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not zombie(pid)


def zombie(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether `pid` has ended and waits to be reaped (its state in /proc/PID/stat, after the command's parenthesis)."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def moment(created: str | int | None) -> datetime | None:
    """An engine's timestamp (Docker's RFC 3339 with nanoseconds and Z, Podman's with an offset; a container list's
    whole seconds since the epoch); None when it cannot be read."""
    if isinstance(created, int):
        return datetime.fromtimestamp(created, timezone.utc)
    found = _TIMESTAMP.match((created or "").strip())
    if not found:
        return None
    seconds, fraction, zone = found.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    # Six digits: older Pythons' fromisoformat reads no other fraction.
    micro = (fraction or ".")[1:7].ljust(6, "0")
    return datetime.fromisoformat(f"{seconds}.{micro}{zone}")


def age(created: str | int | None, *, now: datetime | None = None) -> float:
    """Seconds since an engine's timestamp (`moment`); 0 when it cannot be read, so that nothing is taken for old by
    mistake."""
    when = moment(created)
    if when is None:
        return 0.0
    return max(0.0, ((now or datetime.now(timezone.utc)) - when).total_seconds())
