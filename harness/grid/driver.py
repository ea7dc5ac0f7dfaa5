"""``run_grid(spec, out)``: expand the grid, skip finished cells, run the rest on an executor.

The driver is the only writer of the run folder: a cell's file is saved the moment its result
comes back (``harness.grid.store``), and a unit's weights go into the driver's weights cache, so
a rerun after any interruption picks up where the last one stopped. Tasks run in dependency
order (a cell after the units it needs; a defence's unit after its baseline's). A task whose
worker is lost or that runs out of memory is retried up to ``retries`` times; one that raises
anything else would raise it again (``harness.grid.retry``) and is reported as failed at once.
A failed task is reported with every cell that needed it; the other cells go on.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import console, provenance, runner
from harness.datasets import load_dataset
from harness.errors import HarnessError
from harness.grid.cells import Cell, Expansion, Unit, expand
from harness.grid.executors import EXECUTORS, make_executor
from harness.grid.retry import can_change
from harness.grid.store import CellStore
from harness.grid.work import Built, CellResult, build_unit, evaluate_cell, materialize
from harness.spec import Spec

log = logging.getLogger(__name__)

REUSED, RAN, FAILED = "reused", "ran", "failed"
BLOCKED = "blocked"  # not run: a model it needs failed


@dataclass
class Status:
    """What happened to one cell or unit in this run."""

    item: Cell | Unit
    status: str = ""  # REUSED / RAN / FAILED / BLOCKED ("" while pending)
    attempts: int = 0  # times it was run in this run (a retry is one more)
    error: str = ""  # the last failure's one-line description
    value: CellResult | Built | None = None

    @property
    def deps(self) -> tuple[str, ...]:
        return self.item.units


@dataclass
class GridResult:
    spec: Spec
    expansion: Expansion
    cells: list[Status]  # every cell, in expansion order
    units: list[Status]  # the units this run needed (none when every cell was finished)
    executor: str
    retries: int
    provenance: dict[str, Any] = field(default_factory=dict)

    def finished(self) -> list[tuple[Cell, CellResult]]:
        return [(s.item, s.value) for s in self.cells if isinstance(s.value, CellResult)]  # type: ignore[misc]

    def failed(self) -> list[Status]:
        """Cells and models given up on: raised an error a retry cannot change, or ran out of
        retries."""
        return [s for s in self.units + self.cells if s.status == FAILED]

    def blocked(self) -> list[Status]:
        """Cells and models not run because a model they need failed."""
        return [s for s in self.units + self.cells if s.status == BLOCKED]


def run_grid(
    spec: Spec,
    out: str | Path,
    *,
    executor: str = "local",
    address: str | None = None,
    retries: int = 2,
    models_dir: str | Path | None = None,
    num_cpus: int | None = None,
) -> GridResult:
    """Every cell of ``spec``'s grid finished in ``out/cells`` (those already there are reused).

    ``executor``: "local" or "ray" (``address``: an existing cluster; else a local instance with
    ``num_cpus``). ``models_dir``: the weights cache (default ``harness.runner.default_models_dir()``).
    """
    started = time.time()
    EXECUTORS.get(executor, "--executor")
    if retries < 0:
        raise HarnessError(f"--retries: expected an integer >= 0, got {retries}")
    expansion = expand(spec)
    # The data checks (n_test/n_train above a split, one class) once, as one line, before any
    # cell: inside the cells they would fail each cell after its retries.
    load_dataset(spec.dataset, spec.seed)
    store = CellStore(Path(out))
    if n := store.remove_stray_temporaries():
        log.info("removed %d unfinished write(s) of an interrupted run", n)
    cells = [Status(c) for c in expansion.cells]
    for s in cells:
        if (stored := store.load(s.item)) is not None:  # type: ignore[arg-type]
            s.status, s.value = REUSED, stored
    todo = [s for s in cells if not s.status]
    units = _needed_units(expansion, todo)
    cache = Path(models_dir if models_dir is not None else runner.default_models_dir()).resolve()
    description = "nothing to run"
    if todo:
        options = {"address": address, "num_cpus": num_cpus} if executor == "ray" else {}
        options |= {"gpus": spec.grid.gpus_per_cell} if executor == "ray" else {}  # type: ignore[union-attr]
        pool = make_executor(executor, threads=spec.threads or 1, **options)
        description = pool.description
        try:
            with console.bar(total=len(cells), initial=len(cells) - len(todo),
                             desc=f"grid {spec.name}", unit="cell", leave=True) as bar:  # fmt: skip
                _Scheduler(pool, retries, cache, store, bar).run(units, todo)
        finally:
            pool.close()
    return GridResult(
        spec, expansion, cells, units, description, retries, _provenance(spec, started)
    )


def _needed_units(expansion: Expansion, todo: list[Status]) -> list[Status]:
    """The units the unfinished cells need, with the units those need, in expansion order."""
    by_key = {u.key: u for u in expansion.units}
    needed: set[str] = set()
    stack = [k for s in todo for k in s.deps]
    while stack:
        key = stack.pop()
        if key not in needed:
            needed.add(key)
            stack += by_key[key].units
    return [Status(u) for u in expansion.units if u.key in needed]


class _Scheduler:
    """Submits every task whose units are built, collects results as they come, retries."""

    def __init__(self, pool: Any, retries: int, cache: Path, store: CellStore, bar: Any) -> None:
        self.pool, self.retries, self.cache, self.store, self.bar = pool, retries, cache, store, bar
        self.cwd = os.getcwd()
        self.built: dict[str, Any] = {}  # unit key -> its files, shared with the executor
        self.broken: dict[str, str] = {}  # unit key -> why it failed
        self.n_failed = 0  # cells given up on

    def run(self, units: list[Status], cells: list[Status]) -> None:
        waiting = units + cells  # units first: among ready tasks, models are built first
        ready: deque[Status] = deque()
        running: dict[Future, Status] = {}
        while waiting or ready or running:
            waiting = self._release(waiting, ready)
            while ready and len(running) < self.pool.capacity:
                task = ready.popleft()
                running[self._submit(task)] = task
            if not running:
                if waiting and not ready:  # cannot happen with a consistent expansion
                    raise RuntimeError(f"grid: {len(waiting)} task(s) wait for unknown models")
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in [f for f in running if f in done]:  # submission order
                task = running.pop(future)
                try:
                    value = future.result()
                except Exception as exc:
                    self._failed(task, exc, ready)
                else:
                    self._succeeded(task, value)

    def _release(self, waiting: list[Status], ready: deque[Status]) -> list[Status]:
        """Move tasks whose units are built to ``ready``; fail those whose units failed."""
        still = []
        for task in waiting:
            broken = [k for k in task.deps if k in self.broken]
            if broken:
                self._give_up(task, f"needs {self.broken[broken[0]]}", BLOCKED)
            elif all(k in self.built for k in task.deps):
                ready.append(task)
            else:
                still.append(task)
        return still

    def _submit(self, task: Status) -> Future:
        fn: Callable[..., Any] = build_unit if isinstance(task.item, Unit) else evaluate_cell
        deps = [self.built[k] for k in task.deps]
        task.attempts += 1
        return self.pool.submit(fn, task.item, str(self.cache), self.cwd, *deps)

    def _succeeded(self, task: Status, value: Any) -> None:
        task.status, task.value = RAN, value
        if isinstance(task.item, Unit):
            materialize(value.files, self.cache)  # the driver's cache: a rerun reuses them
            self.built[task.item.key] = self.pool.share(value.files)
            return
        self.store.save(task.item, value)
        self.bar.update()

    def _failed(self, task: Status, exc: BaseException, ready: deque[Status]) -> None:
        task.error = describe_error(exc)
        again = can_change(exc)
        log.warning("%s failed (attempt %d): %s%s", _name(task.item), task.attempts, task.error,
                    "" if again else " (not retried: it would fail the same way)")  # fmt: skip
        if again and task.attempts <= self.retries:
            ready.appendleft(task)
        else:
            self._give_up(task, task.error)

    def _give_up(self, task: Status, error: str, status: str = FAILED) -> None:
        task.status, task.error = status, error
        if isinstance(task.item, Unit):
            self.broken[task.item.key] = _name(task.item) + (
                f", which failed ({error})" if status == FAILED else f", which {error}"
            )
        else:
            self.n_failed += 1
            self.bar.update()
            self.bar.set_postfix(failed=self.n_failed)


def _name(item: Cell | Unit) -> str:
    what = f"{item.model} seed {item.seed} {item.role}"
    return f"cell {what} / {item.attack}" if isinstance(item, Cell) else f"model {what}"


def describe_error(exc: BaseException) -> str:
    """One line: the exception's type and first line (for a Ray task, its original cause's)."""
    cause = getattr(exc, "cause", None) or exc
    lines = [t.strip() for t in str(cause).splitlines() if t.strip()]
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def _provenance(spec: Spec, started: float) -> dict[str, Any]:
    return provenance.record(spec, started) | {"seconds": round(time.time() - started, 3)}
