"""The function's own memory, judged apart from /tmp: memory.stat parsing (v1, v2), finding the cgroup, killing the
runtime but never the emulator, and what the header says of swap."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_lambda_container.container import cgroup, memwatch, watcher
from pytest_lambda_container.container.memwatch import OomWatch

V1_STAT = "cache 1048576\nrss 4096\nshmem 314572800\nmapped_file 0\ntotal_cache 1048576\ntotal_rss 268435456\n"
V2_STAT = "anon 268435456\nfile 314572800\nkernel 4096\nshmem 314572800\n"


@pytest.mark.parametrize("text", [V1_STAT, V2_STAT])
def test_anonymous_memory_is_read_and_tmpfs_pages_are_not(text: str) -> None:
    # 300 MB in a tmpfs (shmem) and 256 MB of heap: the function's own memory is the heap.
    assert cgroup.anon_bytes(text) == 256 * 2**20


def test_a_stat_without_anonymous_memory_tells_nothing() -> None:
    assert cgroup.anon_bytes("cache 1\n") is None


def _cgroup(root: Path, template: str, stat: str) -> Path:
    path = root / template.format(id="abc").replace("*", "1000")
    path.mkdir(parents=True)
    (path / "memory.stat").write_text(stat)
    return path


@pytest.mark.parametrize("template", cgroup.CGROUP_DIRS)
def test_the_cgroup_is_found_under_each_driver(tmp_path: Path, template: str) -> None:
    made = _cgroup(tmp_path, template, V2_STAT)
    assert cgroup.find_cgroup("abc", tmp_path) == made


def test_no_cgroup_here_means_the_watch_is_unavailable(tmp_path: Path) -> None:
    watch = memwatch.MemoryWatch.of("abc", 512, tmp_path)
    assert not watch.available
    with watch.watching():
        pass
    assert watch.tripped is None


def test_the_container_init_is_told_apart(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "status").write_text("Name:\taws-lambda-rie\nNSpid:\t4242\t1\n")
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "status").write_text("Name:\tpython\nNSpid:\t4243\t15\n")
    assert memwatch.is_namespace_init(7, tmp_path)
    assert not memwatch.is_namespace_init(8, tmp_path)
    assert not memwatch.is_namespace_init(9, tmp_path)


def test_past_the_limit_the_runtime_is_killed_and_the_call_is_out_of_memory(tmp_path: Path) -> None:
    cg = _cgroup(tmp_path, cgroup.CGROUP_DIRS[0], "anon 1000\n")
    runtime = subprocess.Popen(["sleep", "60"])  # stands in for the runtime: a process of the "container"
    (cg / "cgroup.procs").write_text(f"{runtime.pid}\n")
    oom = OomWatch(memwatch.MemoryWatch(cg, 1, interval=0.001))  # a 1 MB function
    try:
        with oom.watching():
            time.sleep(0.05)
            assert oom.over_memory("") is None and runtime.poll() is None  # 1000 bytes: within
            (cg / "memory.stat").write_text(f"anon {600 * 2**20}\n")
            runtime.wait(timeout=5)  # killed by the watch
        error = oom.over_memory("")
        assert error is not None and error.error_type == "Runtime.OutOfMemory"
        assert "went past its 1 MB (stopped at 600 MB; files in /tmp apart)" in error.error_message
        # The next call starts afresh.
        (cg / "memory.stat").write_text("anon 1000\n")
        with oom.watching():
            pass
        assert oom.over_memory("") is None
    finally:
        runtime.kill()
        oom.close()


def test_a_spike_after_the_last_sample_still_counts(tmp_path: Path) -> None:
    cg = _cgroup(tmp_path, cgroup.CGROUP_DIRS[2], "anon 0\n")
    (cg / "cgroup.procs").write_text("")
    watch = memwatch.MemoryWatch(cg, 1, interval=60)  # samples once, then sleeps past the call
    with watch.watching():
        time.sleep(0.05)
        (cg / "memory.stat").write_text(f"anon {2 * 2**20}\n")
    assert watch.tripped == 2 * 2**20
    watch.close()


def _host(tmp_path: Path, swaps: str, v1_memsw: bool | None) -> Path:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "swaps").write_text("Filename Type Size Used Priority\n" + swaps)
    if v1_memsw is not None:
        (tmp_path / "sys/fs/cgroup/memory").mkdir(parents=True)
        if v1_memsw:
            (tmp_path / "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").write_text("0")
    return tmp_path


@pytest.mark.parametrize(
    ("swaps", "memsw", "docker_host", "note"),
    [
        ("", True, "", "no swap"),
        ("/swapfile file 1024 0 -2\n", True, "", "no swap"),
        ("/swapfile file 1024 0 -2\n", False, "", "swap NOT limited: this host's kernel does not account it"),
        ("/swapfile file 1024 0 -2\n", False, "tcp://10.0.0.2:2375", "no swap where the engine's kernel accounts it"),
    ],
)
def test_the_header_says_when_swap_is_not_limited(
    tmp_path: Path, swaps: str, memsw: bool, docker_host: str, note: str
) -> None:
    assert memwatch.swap_note(_host(tmp_path, swaps, memsw), docker_host) == note


def test_the_out_of_memory_message_says_where_the_function_was_stopped_never_the_limit_itself() -> None:
    # 700 MB asked of a 512 MB function: the watch's first sample past the limit is a few KB over it (issue 21,
    # item 4: it used to read "it used 512 MB, more than its 512 MB").
    watch = memwatch.MemoryWatch(None, 512)
    watch.tripped = 512 * 2**20 + 4096
    error = OomWatch(watch).over_memory("")
    assert error is not None
    assert "went past its 512 MB (stopped at 513 MB; files in /tmp apart)" in error.error_message
    assert "512 MB (stopped at 512" not in error.error_message


def test_on_the_engines_host_the_hosts_watch_runs_and_elsewhere_without_a_python_it_is_off_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cgroup that looks like the container's: on the engine's host it is watched; from elsewhere its process ids
    # would be another pid namespace's, so it is never used there (engine/reach.py's same_host): the watch runs in
    # the container (watch_inside.py), unless its image has no Python to run it.
    monkeypatch.setattr(memwatch, "find_cgroup", lambda _id, _root=Path("/"): tmp_path)
    from pytest_lambda_container.build.image import ImageInfo
    from pytest_lambda_container.build.image_config import ImageConfig
    from pytest_lambda_container.container import launch
    from pytest_lambda_container.container.sandbox import Sandbox
    from pytest_lambda_container.engine import hygiene

    node = ImageInfo("sha256:n", "fn:node", ImageConfig(entrypoint=("/usr/bin/node",), cmd=("index.js",)))
    plan = launch.plan(node, labels=hygiene.labels("s1"), emulator_volume="v", sandbox=Sandbox(memory=256))
    container = SimpleNamespace(id="abc", name="plc-x")
    said: list[str] = []
    here = OomWatch.of(container, "plc-x", plan, said.append, same_host=True)  # type: ignore[arg-type]
    assert here.memory is not None and here.memory.available and said == []
    elsewhere = OomWatch.of(container, "plc-x", plan, said.append, same_host=False)  # type: ignore[arg-type]
    assert elsewhere.memory is not None and not elsewhere.memory.available
    (line,) = said
    assert "fn:node has no Python" in line and "only the container's limit holds" in line


@pytest.mark.parametrize("usage_file", memwatch.USAGE_FILES)
def test_the_cheap_usage_decides_until_it_passes_the_limit_and_far_below_it_the_watch_looks_less_often(
    tmp_path: Path, usage_file: str
) -> None:
    cg = _cgroup(tmp_path, cgroup.CGROUP_DIRS[0], f"anon {2 * 2**20}\n")  # over the 1 MB function's limit
    (cg / "cgroup.procs").write_text("")
    watch = memwatch.MemoryWatch(cg, 1)
    (cg / usage_file).write_text(f"{2**19}\n")  # the whole usage within: memory.stat is not even read
    near = watch._check()
    assert watch.tripped is None
    watch.limit = 512 * 2**20
    far = watch._check()
    assert watcher.INTERVAL <= near < far <= watcher.MAX_INTERVAL
    watch.limit = 2**20
    (cg / usage_file).write_text(f"{3 * 2**20}\n")  # past it: the anonymous memory decides
    assert watch._check() == watcher.INTERVAL
    assert watch.tripped == 2 * 2**20
