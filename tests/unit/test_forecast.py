"""The memory behind the start before the conftests (container/forecast.py): pure file work in a temporary folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pytest_lambda_container.container import forecast


def test_a_command_line_is_identified_by_where_it_ran_its_arguments_and_pytest_addopts(tmp_path):
    base = forecast.key(tmp_path, tmp_path, ["-q", "tests"], {})
    assert base == forecast.key(tmp_path, tmp_path, ["-q", "tests"], {"OTHER": "1"})
    assert (
        len(
            {
                base,
                forecast.key(tmp_path / "other", tmp_path, ["-q", "tests"], {}),
                forecast.key(tmp_path, tmp_path / "sub", ["-q", "tests"], {}),
                forecast.key(tmp_path, tmp_path, ["-q", "tests", "-k", "plain"], {}),
                forecast.key(tmp_path, tmp_path, ["-q", "tests"], {"PYTEST_ADDOPTS": "-x"}),
            }
        )
        == 5
    )


def test_the_last_answer_is_the_forecast(tmp_path):
    assert not forecast.reached_last_time("cmd", folder=tmp_path)  # never run
    forecast.remember("cmd", True, folder=tmp_path)
    assert forecast.reached_last_time("cmd", folder=tmp_path)
    forecast.remember("cmd", False, folder=tmp_path)
    assert not forecast.reached_last_time("cmd", folder=tmp_path)
    assert not forecast.reached_last_time("other", folder=tmp_path)


def test_a_command_line_that_never_reached_the_function_writes_nothing(tmp_path):
    forecast.remember("cmd", False, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_memory_is_no_forecast_and_a_read_only_cache_no_error(tmp_path):
    (tmp_path / "cmd").write_bytes(b"\xff\xfe")
    assert not forecast.reached_last_time("cmd", folder=tmp_path)
    blocked = tmp_path / "file"
    blocked.write_text("")
    forecast.remember("cmd", True, folder=blocked / "sub")  # a folder that cannot be made: the forecast is lost only


def test_memories_not_used_for_the_kept_days_are_pruned_when_a_new_one_is_written(tmp_path):
    old, used = tmp_path / "old", tmp_path / "used"
    for path in (old, used):
        path.write_text(forecast.REACHED)
        long_ago = time.time() - (forecast.KEEP_DAYS + 1) * 86400
        os.utime(path, (long_ago, long_ago))
    assert forecast.reached_last_time("used", folder=tmp_path)  # a forecast read counts as a use
    forecast.remember("new", True, folder=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "used"]


def test_the_memory_is_replaced_whole(tmp_path):
    forecast.remember("cmd", True, folder=tmp_path)
    forecast.remember("cmd", False, folder=tmp_path)
    assert [p.name for p in Path(tmp_path).iterdir()] == ["cmd"]  # no temporary file left


def test_a_run_that_reached_the_function_is_remembered_with_its_settings_for_the_user_alone(tmp_path):
    forecast.remember("cmd", True, settings={"image": "app:1"}, folder=tmp_path)
    assert forecast.recall("cmd", folder=tmp_path) == forecast.Memory(True, {"image": "app:1"})
    assert (tmp_path / "cmd").stat().st_mode & 0o777 == 0o600  # the settings may hold the function's environment
    forecast.remember("cmd", True, settings={"image": "app:2"}, folder=tmp_path)  # the same answer, other settings
    assert forecast.recall("cmd", folder=tmp_path) == forecast.Memory(True, {"image": "app:2"})
    forecast.remember("cmd", False, settings={"image": "app:2"}, folder=tmp_path)
    assert forecast.recall("cmd", folder=tmp_path) == forecast.Memory(False, None)


def test_an_answer_an_earlier_version_wrote_is_read_without_settings_and_a_broken_one_not_at_all(tmp_path):
    (tmp_path / "old").write_text(forecast.REACHED)
    assert forecast.recall("old", folder=tmp_path) == forecast.Memory(True, None)
    for broken in ("{", '{"settings": {}}', "[]"):
        (tmp_path / "broken").write_text(broken)
        assert forecast.recall("broken", folder=tmp_path) is None
