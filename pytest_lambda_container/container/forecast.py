"""Whether the last run of the same command line reached the configured function: a run that did starts the next one's
container before pytest imports the conftests and collects (issue 17: one test for the price of `docker run` by hand).

Before collection nothing says whether a test will need the container, and starting one that no test needs costs a
cold start for nothing (`pytest tests/unit` in a project whose container tests live elsewhere). The same command line
in the same folder, though, mostly selects the same tests, as pytest's own `--lf` trusts the last run. A forecast
that turns out wrong costs what collection then undoes: the container is removed at once, unseen
(`collecting.StartWhileCollecting`), and the memory is corrected for the next run.

One small file per command line under the plugin's cache, written when the answer changes and touched when a forecast
is read from it; files unused for `KEEP_DAYS` are pruned when a new one is written. Pure file work: no Docker, no
pytest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config.defaults import cache_dir, prune_cache

KEEP_DAYS = 30
REACHED, NOT_REACHED = "reached", "not reached"


def key(rootdir: Path, invocation_dir: Path, args: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The command line's identity: where pytest ran, its arguments, and the arguments it read from the environment."""
    env = os.environ if environ is None else environ
    what = [str(rootdir), str(invocation_dir), list(args), env.get("PYTEST_ADDOPTS", "")]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:32]


def _file(of: str, folder: Path | None) -> Path:
    return (folder or cache_dir() / "forecast") / of


def reached_last_time(of: str, *, folder: Path | None = None) -> bool:
    """Whether the last run of command line `of` had a test that reached the configured function."""
    path = _file(of, folder)
    try:
        if path.read_text() != REACHED:
            return False
        os.utime(path)  # used: not pruned while the command line is run
        return True
    except (OSError, UnicodeDecodeError):
        return False  # never run, or a memory that cannot be read: no forecast, the container starts at collection


def remember(of: str, reached: bool, *, folder: Path | None = None) -> None:
    """Record what this run of command line `of` did; best effort (a read-only home only loses the forecast)."""
    path = _file(of, folder)
    answer = REACHED if reached else NOT_REACHED
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if path.read_text() == answer:
            return
    if not reached and not path.exists():
        return  # nothing to correct: a command line that never reached it has no file (most pytester runs)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists()
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(answer)
        temporary.replace(path)  # atomic: a concurrent run reads the old answer or the new one, whole
        if fresh:
            prune(path.parent)


def prune(folder: Path, *, now: float | None = None) -> None:
    """Remove the memories of command lines not run for `KEEP_DAYS`."""
    prune_cache(folder, KEEP_DAYS, now=now)
