"""What scaling costs and saves (issue 17), each row a ratio of two things measured side by side in one run.

    python benchmarks/bench_scale.py [--rows pool,reuse,xdist,start] [--image IMAGE] [--repeat N]

  pool   eight 0.4 s calls from eight threads, `--lambda-concurrency 4` vs 1 (warm containers): wall time
  reuse  a one-test pytest run with `--lambda-reuse` finding its container warm vs a fresh run (start + init)
  xdist  the example suite with `-n 2` vs serially (images built beforehand)
  start  `pytest --co` of one trivial test with the plugin vs `-p no:lambda_container` (pytest's own start)
  init   a container's start and first call: the runtime's own init once (with a CPU burst) vs the start-up check's
         import and the emulator's lazy init in the call (the plugin before issue 17)
  onetest  a whole `pytest` run of one test vs `docker run -d` + curl until it answers + `docker rm -f`, by hand

Each row is its own function, so another row (`one test vs by hand`, `init once vs twice`) is one more function.
Runs this checkout's package (subprocesses get it on PYTHONPATH); containers on loopback only; all removed at the end.
The package is compiled first, as an installed plugin is (pip compiles a wheel; pytest caches its own rewrite of a
plugin's modules at the first run): with PYTHONDONTWRITEBYTECODE=1 (set on some machines) this source checkout would
otherwise be compiled anew at every start. Nothing here is timed inside a test.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_lambda_container import LambdaSession, Settings  # noqa: E402
from pytest_lambda_container.fronts.events import EventOptions, HttpRequest, get_format  # noqa: E402

#: Subprocess pytest runs import this checkout, not whichever one is installed.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
#: Plugins of this project's test extras that a user's pytest does not have (hypothesis alone costs ~1 s to load).
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly")


def settings(image: str | None, **kw: object) -> Settings:
    return Settings(
        rootdir=ROOT,
        image=image,
        dockerfile=ROOT / "example_app" / "Dockerfile",
        build_network="host",
        port=0,
        **kw,  # type: ignore[arg-type]
    )


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def row(name: str, a_label: str, a: list[float], b_label: str, b: list[float]) -> None:
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:8} {a_label} {ma:8.2f} s   {b_label} {mb:8.2f} s   ratio {ma / mb:6.2f}x   (medians of {len(a)})")


def image_ref(image: str | None) -> str:
    """The example image, built once here so that no row times a build."""
    with LambdaSession(settings(image)) as session:
        return session.image().id


def pool(image: str, repeat: int) -> None:
    """`--lambda-concurrency 4` vs 1: eight 0.4 s calls from eight threads, after every container has served once."""
    event = get_format("rest").build(HttpRequest("GET", "/sleep", raw_query="seconds=0.4"), EventOptions())

    def eight_at_once(function: object) -> None:
        barrier = threading.Barrier(8)

        def call() -> None:
            barrier.wait()
            assert function.invoke_event(event)["statusCode"] == 200  # type: ignore[attr-defined]

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    times: dict[int, list[float]] = {4: [], 1: []}
    sessions = {n: LambdaSession(settings(image, concurrency=n)) for n in times}
    try:
        functions = {n: s.container() for n, s in sessions.items()}
        for function in functions.values():
            eight_at_once(function)  # warm: every container started and initialised
        for _ in range(repeat):
            for n, function in functions.items():
                times[n].append(timed(lambda: eight_at_once(function)))  # noqa: B023
    finally:
        for s in sessions.values():
            s.close()
    row("pool", "concurrency 4", times[4], "concurrency 1", times[1])


ONE_TEST = "def test_one(invoke):\n    assert invoke('GET', '/test1').status_code == 200\n"


def pytest_run(folder: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *QUIET, *args], cwd=folder, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def reuse(image: str, repeat: int) -> None:
    """A one-test run that finds its container warm (`--lambda-reuse`, after a first run) vs a fresh run."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "test_one.py").write_text(ONE_TEST)
        base = (f"--lambda-image={image}", "--lambda-port=0")
        try:
            pytest_run(folder, *base, "--lambda-reuse")  # leaves the container for the next runs
            fresh, warm = [], []
            for _ in range(repeat):
                fresh.append(timed(lambda: pytest_run(folder, *base)))
                warm.append(timed(lambda: pytest_run(folder, *base, "--lambda-reuse")))
        finally:
            subprocess.run(
                [sys.executable, "-m", "pytest_lambda_container", "clean", "--project", str(folder)],
                env=ENV,
                cwd=ROOT,
                capture_output=True,
            )
    row("reuse", "reused", warm, "fresh ", fresh)


def example_suite(*args: str, env: dict[str, str] = ENV) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *QUIET, *args, "example_app/tests"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def xdist(image: str, repeat: int) -> None:
    """The example suite with `-n 2` vs serially (its images are built, and each way's memory of what its last run
    started is written, by a first, untimed, run of each)."""
    parallel, serial = [], []
    # pytest's temporary folders (xdist makes one for its workers) in a root of this row's own: in the shared one,
    # each -n 2 run would delete the oldest of other runs' folders (a busy machine's e2e runs: seconds of work).
    with tempfile.TemporaryDirectory() as temproot:
        env = {**ENV, "PYTEST_DEBUG_TEMPROOT": temproot}
        example_suite(env=env)
        example_suite("-n", "2", env=env)
        for _ in range(repeat):
            serial.append(timed(lambda: example_suite(env=env)))
            parallel.append(timed(lambda: example_suite("-n", "2", env=env)))
    for i, (p, s) in enumerate(zip(parallel, serial, strict=True), 1):
        print(f"xdist    pair {i}: -n 2 {p:6.2f} s   serial {s:6.2f} s   ratio {p / s:5.2f}x")
    row("xdist", "-n 2  ", parallel, "serial", serial)


def start(image: str, repeat: int) -> None:
    """`pytest --co` of one trivial test: with the plugin loaded vs without it (pytest's own start)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "test_trivial.py").write_text("def test_trivial():\n    pass\n")
        co = ("--co",)
        pytest_run(folder, *co)  # warm the file caches
        with_plugin, without = [], []
        for _ in range(max(repeat, 10)):
            with_plugin.append(timed(lambda: pytest_run(folder, *co)))
            without.append(timed(lambda: pytest_run(folder, *co, "-p", "no:lambda_container")))
    row("start", "plugin", with_plugin, "no plugin", without)


def init(image: str, repeat: int) -> None:
    """A container's start and first call: the runtime's own init once, before the call, with a CPU burst (now) vs
    the start-up check's import and then the emulator's lazy init in the call, at the sandbox's share (before)."""
    from pytest_lambda_container.container import startup
    from pytest_lambda_container.container.function import LambdaContainer

    event = get_format("rest").build(HttpRequest("GET", "/test1"), EventOptions())
    with LambdaSession(settings(image)) as session:
        plan, engine = session.container().plan, session.engine()  # the session's own plan, sandbox and all

        def once() -> None:
            fn = LambdaContainer.start(engine, plan, port=0)
            try:
                assert fn.invoke_event(event)["statusCode"] == 200
            finally:
                fn.remove()

        def twice() -> None:
            fn = LambdaContainer.start(engine, plan, port=0, check_startup=False)
            try:
                assert fn._current is not None and plan.startup_check is not None
                assert startup.run(fn._current, plan.startup_check, plan.image.ref, limit=60, log=print) is None
                assert fn.invoke_event(event)["statusCode"] == 200
            finally:
                fn.remove()

        now, before = [], []
        for _ in range(repeat):
            now.append(timed(once))
            before.append(timed(twice))
    row("init", "init once ", now, "init twice", before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def onetest(image: str, repeat: int) -> None:
    """A whole `pytest` run of one test vs the same by hand: `docker run -d`, curl until it answers, `docker rm -f`
    (the issue's comparison; the plugin's run has the sandbox on, by default), and pytest's own start (one trivial
    test, no plugin), the three in turn. Issue 17's bar: the run costs no more than pytest's start plus the by-hand
    run (`vs start + by hand` <= 1), the goal 1.2x the slower of the two (`vs the slower`). Ratios pair by pair,
    medians: the machine's speed drifts between rounds, less within one."""
    from pytest_lambda_container.container.emulator import locate

    rie = locate("x86_64")
    event = json.dumps(get_format("rest").build(HttpRequest("GET", "/test1"), EventOptions()))
    by_hand = (
        'name=bench-by-hand-$$; docker run -d --name "$name" -p "127.0.0.1:$1:8080" -v "$2:/rie:ro" --entrypoint /rie '
        '"$3" /usr/local/bin/python -m awslambdaric app.handler >/dev/null && '
        'until curl -sf -d "$4" "http://127.0.0.1:$1/2015-03-31/functions/function/invocations" | grep -q statusCode; '
        'do sleep 0.05; done; docker rm -f "$name" >/dev/null'
    )
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as bare_tmp:
        folder, bare = Path(tmp), Path(bare_tmp)
        (folder / "pytest.ini").write_text("[pytest]\n")
        (folder / "test_one.py").write_text(ONE_TEST)
        (bare / "pytest.ini").write_text("[pytest]\n")
        (bare / "test_trivial.py").write_text("def test_trivial():\n    pass\n")
        plugin, hand, start = [], [], []
        for _ in range(repeat):
            plugin.append(timed(lambda: pytest_run(folder, f"--lambda-image={image}", "--lambda-port=0")))
            argv = ["sh", "-c", by_hand, "sh", str(free_port()), str(rie), image, event]
            hand.append(timed(lambda: subprocess.run(argv, check=True)))  # noqa: B023
            start.append(timed(lambda: pytest_run(bare, "-p", "no:lambda_container")))
    row("onetest", "pytest, one test", plugin, "by hand", hand)
    bar = [p / (h + s) for p, h, s in zip(plugin, hand, start)]
    goal = [p / max(h, s) for p, h, s in zip(plugin, hand, start)]
    print(
        f"onetest  pytest's own start {statistics.median(start):6.2f} s;  one test vs start + by hand "
        f"{statistics.median(bar):5.2f}x (bar: 1),  vs the slower of them {statistics.median(goal):5.2f}x (goal: 1.2)"
        f"   (pair by pair, medians of {len(bar)})"
    )


ROWS: dict[str, Callable[[str, int], None]] = {
    "pool": pool,
    "reuse": reuse,
    "xdist": xdist,
    "start": start,
    "init": init,
    "onetest": onetest,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default=",".join(ROWS), help=f"which rows, of {', '.join(ROWS)}")
    parser.add_argument("--image", help="an existing image instead of building example_app")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per side of each row")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "pytest_lambda_container", quiet=1)
    image = image_ref(args.image)
    for name in args.rows.split(","):
        ROWS[name](image, args.repeat)


if __name__ == "__main__":
    main()
