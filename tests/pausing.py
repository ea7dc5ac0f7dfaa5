"""Pausing a child run at a known point, so that a test can signal or kill it there.

``install(phase, folder)`` is called in the child process before the command line runs; it
wraps the harness functions at which each phase begins (nothing in the package knows about it):

- a run phase (``build``, ``break``, ``explain``, ...): entering ``Timer.phase(name)``;
- ``report``: after results.csv is written into the report's temporary folder, before run.json;
- ``train-<role>-epoch-<k>``: the start of epoch k of that training (after epoch k-1's
  checkpoint is saved).

At the phase the child writes ``<phase>.paused`` (its pid) into ``folder`` and sleeps.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def install(phase: str, folder: str | Path) -> None:
    if not phase:
        return
    from harness import epoch_checkpoints, provenance
    from harness.results import rundir

    def pause(reached: str) -> None:
        if reached == phase:
            (Path(folder) / f"{phase}.paused").write_text(str(os.getpid()), encoding="utf-8")
            time.sleep(600)

    entered = provenance.Timer.phase

    @contextlib.contextmanager
    def timed_phase(self: Any, name: str) -> Iterator[None]:
        pause(name)
        with entered(self, name):
            yield

    provenance.Timer.phase = timed_phase

    render = rundir.render_run_json

    def run_json(*args: Any, **kwargs: Any) -> str:
        pause("report")
        return render(*args, **kwargs)

    rundir.render_run_json = run_json

    save = epoch_checkpoints.Loop.save

    def saved(self: Any, epoch: int, history: Any) -> None:
        save(self, epoch, history)
        if self.session is not None:
            pause(f"train-{self.session.role}-epoch-{epoch + 1}")

    epoch_checkpoints.Loop.save = saved


def child(argv: list[str], cwd: str, pause: tuple[str, str], log: str) -> None:
    """The command line in a child process: cwd set, paused at ``pause`` (phase, marker
    folder) if given, stdout and stderr to ``log``."""
    os.chdir(cwd)
    install(*pause)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from harness.cli import main

    sys.exit(main(argv))
