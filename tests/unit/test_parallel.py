"""pytest-xdist scheduling by function (`parallel.py`): the tests of one `lambda_container` parameter are one unit of
work, every other test its own; a `--dist` the user chose is left alone."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

pytest.importorskip("xdist")

from pytest_lambda_container import parallel, scheduling


@pytest.fixture
def uid(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(scheduling.tempfile, "gettempdir", lambda: str(tmp_path))
    return "run123"


def scheduler(uid: str) -> scheduling.FunctionScheduling:
    self = scheduling.FunctionScheduling.__new__(scheduling.FunctionScheduling)
    self.testrunuid, self._groups = uid, None
    return self


def test_a_functions_tests_are_one_unit_and_the_others_their_own(uid):
    group = "lambda_container=Dockerfile"
    groups = {"t.py::a[Dockerfile]": group, "t.py::b[Dockerfile]": group}
    path = parallel.groups_file(uid, "gw0")
    path.write_text(json.dumps(groups))
    sched = scheduler(uid)
    assert sched._split_scope("t.py::a[Dockerfile]") == sched._split_scope("t.py::b[Dockerfile]")
    assert sched._split_scope("t.py::c") == "t.py::c"
    assert not path.exists()  # read once, then removed: nothing left in the temporary folder


def test_without_the_workers_word_every_test_is_its_own_unit(uid):
    assert scheduler(uid)._split_scope("t.py::a[Dockerfile]") == "t.py::a[Dockerfile]"


def config_with(args: list[str], addopts: list[str] | str = "", dist: str = "load") -> SimpleNamespace:
    return SimpleNamespace(
        invocation_params=SimpleNamespace(args=args),
        getini=lambda name: addopts,
        getoption=lambda name, default=None: {"dist": dist, "testrunuid": "x"}.get(name, default),
        option=SimpleNamespace(),
    )


@pytest.mark.parametrize(
    ("args", "addopts", "env", "chosen"),
    [
        (["-n", "2"], "", "", False),
        (["-n", "2", "--dist", "load"], "", "", True),
        (["-n", "2", "--dist=loadfile"], "", "", True),
        (["-n", "2"], ["-p pytester --dist load"], "", True),
        (["-n", "2"], "", "--dist=each", True),
    ],
)
def test_a_dist_the_user_chose_is_theirs(monkeypatch, args, addopts, env, chosen):
    monkeypatch.setenv("PYTEST_ADDOPTS", env)
    config = config_with(args, addopts)
    assert parallel.dist_chosen(config) is chosen  # type: ignore[arg-type]
    assert parallel.Controller(config).active is not chosen  # type: ignore[arg-type]


def test_a_tests_unit_is_its_xdist_group_then_its_function(pytester):
    items = pytester.getitems(
        """
        import pytest

        @pytest.fixture
        def lambda_container(request):
            return request.param

        @pytest.mark.parametrize("lambda_container", ["Dockerfile"], indirect=True)
        def test_of_a_function(lambda_container):
            pass

        @pytest.mark.xdist_group("engine")
        @pytest.mark.parametrize("lambda_container", ["Dockerfile"], indirect=True)
        def test_grouped_too(lambda_container):
            pass

        @pytest.mark.xdist_group(name="engine")
        def test_grouped():
            pass

        def test_alone():
            pass
        """
    )
    assert [parallel.unit_of(item) for item in items] == [
        "lambda_container=Dockerfile",
        "xdist_group=engine",
        "xdist_group=engine",
        None,
    ]


class Node:
    shutting_down = False


def test_the_test_a_worker_crashed_in_is_reported_once_and_the_rest_of_its_unit_goes_on(uid):
    """xdist's `loadscope` puts a crashed worker's whole workload back, the crashing test too, which then crashes the
    next worker: here it is reported (returned) and not run again; the unit's other tests are scheduled again."""
    sched = scheduler(uid)
    crashed, other, idle = Node(), Node(), Node()
    sched.assigned_work = {
        crashed: {"unit": {"t.py::a": True, "t.py::b": False, "t.py::c": False}, "done": {"t.py::d": True}},
        other: {"t.py::e": {"t.py::e": False}},
    }
    sched.workqueue = {}
    sched._reschedule = lambda node: None
    assert sched.remove_node(crashed) == "t.py::b"
    assert sched.workqueue == {"unit": {"t.py::a": True, "t.py::b": True, "t.py::c": False}}
    # A worker ended with nothing pending: no crash.
    assert sched.remove_node(other) is not None  # its test was pending: the crash is in it
    sched.assigned_work = {idle: {"t.py::f": {"t.py::f": True}}}
    assert sched.remove_node(idle) is None
