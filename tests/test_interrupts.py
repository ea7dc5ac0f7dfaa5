"""Interrupts (issue 13): SIGINT, SIGTERM and kill -9 at each phase, then a rerun.

A stopped run says one line and exits 128 + the signal, leaves no temporary files, keeps the
weights it cached, and a rerun gives the same ``results.csv`` bytes as a run never stopped
(a ``kill -9`` while the report is written leaves a temporary folder that the rerun removes).

Each run is a child process (a signal needs one) forked from a multiprocessing forkserver that
imported the harness once: a fresh interpreter would spend most of the test importing torch and
ART. The child stops at the phase through ``tests/pausing.py``, which wraps the harness function
where the phase begins.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import types
from collections.abc import Iterator
from multiprocessing.context import BaseContext as Context
from multiprocessing.process import BaseProcess as Process
from pathlib import Path

import pausing
import pytest
from bad_inputs import TINY_RUN as TINY

from harness.cli import RESUME

pytestmark = pytest.mark.slow

PRELOAD = ["harness.cli", "harness.runner", "harness.report"]
# Each chain stops runs at the phases in turn (each run is the rerun of the one before it),
# then runs to the end: every (phase, signal) pair is stopped and rerun, and only the last run of
# a chain draws the report's figures (most of a tiny run's time).
CHAINS = {  # phase: build trains the baseline, break attacks, report writes the folder
    "sigint": [
        ("build", signal.SIGINT),
        ("break", signal.SIGINT),
        ("break", signal.SIGKILL),
        ("report", signal.SIGINT),
    ],
    "sigterm": [
        ("build", signal.SIGKILL),
        ("break", signal.SIGTERM),
        ("report", signal.SIGTERM),
        ("report", signal.SIGKILL),  # last: its temporary folder is left for the rerun to remove
    ],
}


@pytest.fixture(scope="module")
def forkserver() -> Iterator[Context]:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    # A child re-runs ``__main__`` from its file first; Streamlit's AppTest (an earlier test in the
    # same session) leaves a temporary script there, which fails when re-run. An empty ``__main__``
    # while the children start: they need nothing from it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        yield ctx


class Folder:
    """One scenario's folder: spec, weights cache, report parent, the pause marker's folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "pause").mkdir(parents=True)
        (root / "spec.yaml").write_text(TINY, encoding="utf-8")
        self.out = root / "reports" / "out"

    def start(self, ctx: Context, pause: str = "", log: str = "log.txt") -> Process:
        argv = ["run", "spec.yaml", "--out", str(self.out), "--models-dir", "models"]
        at = (pause, str(self.root / "pause"))
        proc = ctx.Process(
            target=pausing.child, args=(argv, str(self.root), at, str(self.root / log))
        )
        proc.start()
        return proc

    def log(self, name: str = "log.txt") -> str:
        return (self.root / name).read_text(encoding="utf-8", errors="replace")

    def temporaries(self) -> list[Path]:
        return sorted(self.root.rglob("*.tmp"))


def _wait_for(path: Path, proc: Process, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.is_alive(), f"the run ended before pausing (exit {proc.exitcode})"
        assert time.monotonic() < deadline, f"no {path.name} after {seconds}s"
        time.sleep(0.1)


def _finish(folder: Folder, ctx: Context, name: str) -> bytes:
    """Run to the end (no pause); the report's results.csv bytes."""
    proc = folder.start(ctx, log=name)
    proc.join(300)
    assert proc.exitcode == 0, folder.log(name)
    assert not folder.temporaries()
    return (folder.out / "results.csv").read_bytes()


@pytest.fixture(scope="module")
def reference(forkserver: Context, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _finish(Folder(tmp_path_factory.mktemp("reference")), forkserver, "log.txt")


def _error_lines(log: str) -> list[str]:
    lines = [part for line in log.splitlines() for part in line.split("\r")]
    return [line for line in lines if line.startswith("error: ")]


def _stop(folder: Folder, ctx: Context, phase: str, sig: signal.Signals) -> None:
    """Start a run, signal it when it reaches ``phase``, check how it ended."""
    proc = folder.start(ctx, pause=phase)
    _wait_for(folder.root / "pause" / f"{phase}.paused", proc)
    (folder.root / "pause" / f"{phase}.paused").unlink()
    os.kill(proc.pid, sig)
    proc.join(60)
    log = folder.log()
    assert not folder.out.exists(), "a stopped run left a report"
    if phase != "build":
        assert list((folder.root / "models").rglob("*.pt")), "trained weights were not cached"
    if sig == signal.SIGKILL:
        assert proc.exitcode == -signal.SIGKILL
        return
    assert proc.exitcode == 128 + sig, log
    assert "Traceback" not in log, log
    assert _error_lines(log) == [f"error: interrupted ({sig.name}); {RESUME}"], log
    assert not folder.temporaries(), "an interrupted run left temporary files"


@pytest.mark.parametrize("chain", CHAINS)
def test_stop_at_each_phase_then_rerun(
    chain: str, forkserver: Context, reference: bytes, tmp_path: Path
) -> None:
    folder = Folder(tmp_path)
    for phase, sig in CHAINS[chain]:
        _stop(folder, forkserver, phase, sig)
    assert _finish(folder, forkserver, "rerun.txt") == reference  # and no temporaries left
    assert "epoch 1/1" not in folder.log("rerun.txt"), "the rerun trained again"
