"""Two runs, one ``--out`` (issue 28): the second is refused at once, before any work, while the
first holds the folder's lock; a lock whose process died blocks nothing; no lock file stays."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_inputs import TINY_RUN as TINY

from harness import runner
from harness.cli import main
from harness.errors import HarnessError
from harness.lock import lock_path

GRID = TINY + "grid: {seeds: [0]}\n"


def _run(tmp: Path, out: Path) -> int:
    return main(["run", str(tmp / "spec.yaml"), "--out", str(out),
                 "--models-dir", str(tmp / "models")])  # fmt: skip


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """``<tmp>/reports/out`` locked as a running harness would hold it (another open file)."""
    out = tmp_path / "reports" / "out"
    out.parent.mkdir()
    fd = os.open(lock_path(out), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    yield out
    os.close(fd)


@pytest.mark.parametrize("text", [TINY, GRID], ids=["run", "grid"])
def test_a_second_run_on_a_locked_out_is_refused_before_any_work(
    tmp_path: Path, held: Path, text: str, capsys
) -> None:
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    start = time.monotonic()
    assert _run(tmp_path, held) == 2
    seconds = time.monotonic() - start
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --out: {held} is in use by another")
    assert not (tmp_path / "models").exists(), "the refused run trained a model"
    assert not held.exists()
    assert lock_path(held).exists(), "the refused run removed the holder's lock file"
    assert seconds < 10, f"refused only after {seconds:.1f}s"


def test_a_lock_left_by_a_killed_run_does_not_block_and_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "out"
    out.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock_path(out))!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock_path(out).exists()  # what a kill -9 leaves
    (tmp_path / "spec.yaml").write_text(TINY, encoding="utf-8")
    assert _run(tmp_path, out) == 0
    assert (out / "run.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"], "the lock file stayed"


def test_the_lock_is_held_while_the_run_works_and_gone_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The lock file (and the folders made for it) exist while the benchmark runs, and a run
    that fails leaves none of them."""
    (tmp_path / "spec.yaml").write_text(TINY, encoding="utf-8")
    out = tmp_path / "a" / "b" / "out"
    seen: list[bool] = []

    def failing_run(spec: object, **kwargs: object) -> None:
        seen.append(lock_path(out).is_file())
        raise HarnessError("the benchmark failed")

    monkeypatch.setattr(runner, "run", failing_run)
    assert _run(tmp_path, out) == 2
    assert seen == [True]
    assert capsys.readouterr().err == "error: the benchmark failed\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]
