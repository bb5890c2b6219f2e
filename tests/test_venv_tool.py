"""tools/venv.py, the part of ``make`` that creates .venv: what counts as complete, what makes
it stale, and one process at a time. The real install, two targets at once on a fresh clone with
a half-built venv, is ``make check-fresh`` (CI runs it)."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from pathlib import Path

import pytest

from tools import venv as tool

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_pins_hash_follows_pins_not_comments_or_tool_settings(project: Path) -> None:
    before = tool.pins_hash(project)
    requirements = project / "requirements.txt"
    requirements.write_text("# a new comment\n\n" + requirements.read_text())
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("line-length = 100", "line-length = 99"))
    assert tool.pins_hash(project) == before
    requirements.write_text(requirements.read_text().replace("numpy==", "numpy>="))
    assert tool.pins_hash(project) != before


def test_torch_pin_comes_from_the_train_extra() -> None:
    assert tool.torch_requirement().startswith("torch==")


def test_a_venv_without_its_stamp_is_not_complete(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    assert tool.read_stamp(venv) is None  # no venv
    venv.mkdir()
    assert tool.read_stamp(venv) is None  # half-built: no stamp
    (venv / tool.STAMP_NAME).write_text("{not json")
    assert tool.read_stamp(venv) is None  # a torn stamp


def test_stamp_round_trip_and_what_it_covers(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    venv.mkdir()
    tool.write_stamp(venv, ["dev"], "pins-1")
    stamp = tool.read_stamp(venv)
    assert stamp is not None and json.loads((venv / tool.STAMP_NAME).read_text()) == stamp
    assert tool.is_up_to_date(stamp, ["dev"], "pins-1")
    assert not tool.is_up_to_date(stamp, ["dev", "train"], "pins-1")  # install-train adds
    assert not tool.is_up_to_date(stamp, ["dev"], "pins-2")  # a pin changed
    tool.write_stamp(venv, ["dev", "train"], "pins-1")
    assert tool.is_up_to_date(tool.read_stamp(venv), ["dev"], "pins-1")


def test_a_venv_from_the_old_makefile_is_updated_not_thrown_away(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    venv.mkdir()
    (venv / tool.LEGACY_STAMP_NAME).touch()
    stamp = tool.read_stamp(venv)
    assert stamp is not None and stamp["sets"] == ["dev", "train"]
    assert not tool.is_up_to_date(stamp, ["dev"], tool.pins_hash())
    tool.remove_stamp(venv)
    assert tool.read_stamp(venv) is None


def _hold_the_lock(venv: str, log: str, name: str) -> None:
    with tool.locked(Path(venv)):
        with open(log, "a") as out:
            out.write(f"{name} in {time.monotonic()}\n")
        time.sleep(0.5)
        with open(log, "a") as out:
            out.write(f"{name} out {time.monotonic()}\n")


def test_one_process_at_a_time(tmp_path: Path) -> None:
    venv, log = tmp_path / ".venv", tmp_path / "log"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_hold_the_lock, args=(str(venv), str(log), name))
        for name in ("a", "b", "c")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    events = [line.split() for line in log.read_text().splitlines()]
    assert len(events) == 6
    for i in range(0, 6, 2):  # in, out, in, out...: never two inside at once
        assert events[i][0] == events[i + 1][0]
        assert (events[i][1], events[i + 1][1]) == ("in", "out")
    assert (tmp_path / ".venv.lock").exists() and not venv.exists()
