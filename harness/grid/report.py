"""A grid's report, beside its ``cells/``: results.csv, report.md, curves.png, run.json.

``results.csv`` holds every finished cell's rows in the grid's order (model, seed, defence,
attack), one clean-accuracy row per model and the per-sample worst case over its attacks. It
depends only on the cells' results, so the same spec and seeds give the same bytes however the
cells were run: in one go, across interruptions, or on Ray workers. The report's tables give
each number as the mean and sample standard deviation over the grid's seeds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import plots
from harness.grid.cells import NO_DEFENCE, Cell, grid_models, sub_spec
from harness.grid.driver import BLOCKED, FAILED, RAN, REUSED, GridResult, Status
from harness.grid.work import CellResult
from harness.io import atomic_path, write_text
from harness.plan import NAIVE_SUFFIX, attack_records, validate
from harness.reading import WORST_CASE, pct
from harness.report import grid as grid_sections
from harness.report.grid_view import GridReport
from harness.report.html import render_html
from harness.results import FAIL, PASS, AttackRecord, Check, Measurement
from harness.results.corruption import is_corruption_row
from harness.sanity import checks
from harness.sweep import AttackOutcome, worst_case_rows

GRID_COLUMNS = ("model", "defence", "seed", "attack", "eps", "metric", "value")
RESULTS_CSV, REPORT_MD, RUN_JSON = "results.csv", "report.md", "run.json"
REPORT_HTML = "report.html"  # the same report, browser-ready and self-contained
SAME_MODEL = "same_model_in_every_cell"
Group = tuple[str, int, str]  # (grid model, seed, role)


@dataclass(frozen=True)
class GridRow:
    model: str  # the grid model's label
    defence: str  # "none" for the baseline, else the defence's label
    seed: int
    attack: str  # "none" for clean accuracy
    eps: float
    metric: str
    value: float


# ---------------------------------------------------------------- rows


def groups(result: GridResult) -> dict[Group, list[tuple[Cell, CellResult | None]]]:
    """Each attacked model's cells, in the grid's order, with their results (None: unfinished)."""
    out: dict[Group, list[tuple[Cell, CellResult | None]]] = {}
    for s in result.cells:
        cell = s.item
        assert isinstance(cell, Cell)
        value = s.value if isinstance(s.value, CellResult) else None
        out.setdefault(cell.group, []).append((cell, value))
    return out


def grid_rows(result: GridResult) -> list[GridRow]:
    """Every finished cell's rows; per model one clean-accuracy row (every cell measured it;
    ``SAME_MODEL`` checks they agree), and the worst case when all of its cells finished."""
    rows: list[GridRow] = []
    for members in groups(result).values():
        finished = [(c, r) for c, r in members if r is not None]
        if not finished:
            continue
        cell, first = finished[0]
        measured = [Measurement(cell.role, "none", 0.0, "clean_accuracy", first.clean_accuracy)]
        measured += [m for _, r in finished for m in r.rows if not is_corruption_row(m.attack)]
        if len(finished) == len(members):
            measured += worst_case_rows(cell.role, _outcomes(finished))
        rows += [
            GridRow(cell.model, cell.defence, cell.seed, m.attack, m.eps, m.metric, m.value)
            for m in measured
        ]
    return rows


def corruption_rows(result: GridResult) -> list[GridRow]:
    """The corruption cells' rows (``corruption:<name>``, eps = severity), in the grid's order:
    written after every attack row, as a run's results.csv has them."""
    return [
        GridRow(cell.model, cell.defence, cell.seed, m.attack, m.eps, m.metric, m.value)
        for members in groups(result).values()
        for cell, r in members
        if r is not None
        for m in r.rows
        if is_corruption_row(m.attack)
    ]


def _outcomes(finished: Sequence[tuple[Cell, CellResult]]) -> list[AttackOutcome]:
    nan = np.full((len(finished[0][1].eps), finished[0][1].n_test), np.nan)
    return [
        AttackOutcome(name, tuple(r.eps), robust, attacked, nan, nan)
        for _, r in finished
        for name, (robust, attacked) in r.masks().items()
    ]


def csv_text(rows: Iterable[GridRow]) -> str:
    """Long-format CSV; floats as ``repr`` (shortest exact round trip): stable bytes."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(GRID_COLUMNS)
    for r in rows:
        eps, value = repr(float(r.eps)), repr(float(r.value))
        writer.writerow([r.model, r.defence, r.seed, r.attack, eps, r.metric, value])
    return buf.getvalue()


# ---------------------------------------------------------------- the writer


def write_grid_report(result: GridResult, out: str | Path) -> Path:
    """Write the report files into ``out`` (beside ``cells/``), each atomically."""
    out = Path(out)
    rows = grid_rows(result)
    report = grid_report(result, rows)
    rows = rows + report.corruptions
    for name, make in grid_sections.figures(report).items():
        with atomic_path(out / name) as tmp:
            plots.save(make(), tmp)
    write_text(out / RUN_JSON, render_run_json(result))
    text = grid_sections.render_markdown(report)
    write_text(out / REPORT_MD, text)
    write_text(out / REPORT_HTML, render_html(text, out, f"Robustness grid: {result.spec.name}"))
    write_text(out / RESULTS_CSV, csv_text(rows))
    return out


def render_run_json(result: GridResult) -> str:
    spec = result.spec
    record = {
        "name": spec.name,
        "kind": "grid",
        "spec": spec.to_dict(),
        "provenance": result.provenance,
        "executor": result.executor,
        "retries": result.retries,
        "cells": [_cell_record(s) for s in result.cells],
        "units": [_unit_record(s) for s in result.units],
    }
    return json.dumps(record, sort_keys=True, indent=2, default=str) + "\n"


def _cell_record(s: Status) -> dict[str, Any]:
    c = s.item
    assert isinstance(c, Cell)
    record = {"key": c.key, "model": c.model, "seed": c.seed, "defence": c.defence}
    record |= {"attack": c.attack, "status": s.status or "not run", "attempts": s.attempts}
    if isinstance(s.value, CellResult):
        v = s.value
        record |= {"seconds": v.seconds, "host": v.host, "pid": v.pid, "models": v.models}
    return record | ({"error": s.error} if s.error else {})


def _unit_record(s: Status) -> dict[str, Any]:
    u = s.item
    record = {"key": u.key, "model": u.model, "seed": u.seed, "role": u.role}
    record |= {"status": s.status or "not run", "attempts": s.attempts}
    if s.value is not None:
        record |= {"training": s.value.training, "training_seconds": s.value.seconds}  # type: ignore[union-attr]
    return record | ({"error": s.error} if s.error else {})


# ---------------------------------------------------------------- report.md (harness.report.grid)


def grid_report(result: GridResult, rows: Sequence[GridRow]) -> GridReport:
    """What the grid report's sections read: every number computed here, from the cells."""
    values, records = seed_values(rows), _attack_records(result)
    statuses = [s.status for s in result.cells]
    cell_seconds = {RAN: 0.0, REUSED: 0.0}  # each finished cell's own time, by status
    for s in result.cells:
        if isinstance(s.value, CellResult):
            cell_seconds[s.status] += s.value.seconds
    return GridReport(
        result=result,
        rows=list(rows),
        values=values,
        records=records,
        checks=grid_checks(result, rows, records),
        series=_series(result),
        attacks=attack_order(result, values),
        naive_suffix=NAIVE_SUFFIX,
        no_defence=NO_DEFENCE,
        counts={k: statuses.count(k) for k in (RAN, REUSED, FAILED, BLOCKED)},
        cell_seconds=cell_seconds,
        failed=[(_what(s), s.attempts, s.error) for s in result.failed()],
        blocked=[(_what(s), isinstance(s.item, Cell)) for s in result.blocked()],
        n_classes=_n_classes(result),
        corruptions=corruption_rows(result),
    )


def render_markdown(result: GridResult, rows: Sequence[GridRow]) -> str:
    """The grid's report.md."""
    return grid_sections.render_markdown(grid_report(result, rows))


def _what(s: Status) -> str:
    i = s.item
    where = f"{i.model}, seed {i.seed}, {i.role}"
    return f"cell {where}, {i.attack}" if isinstance(i, Cell) else f"model {where}"


def seed_values(rows: Iterable[GridRow]) -> dict[tuple, list[float]]:
    """(model, defence, attack, eps, metric) -> the values over seeds, in seed order."""
    out: dict[tuple, list[float]] = {}
    for r in rows:
        out.setdefault((r.model, r.defence, r.attack, r.eps, r.metric), []).append(r.value)
    return out


def _series(result: GridResult) -> list[tuple[str, str]]:
    return list(dict.fromkeys((c.model, c.defence) for c in result.expansion.cells))


def attack_order(result: GridResult, values: dict[tuple, list[float]]) -> list[str]:
    """The measured attacks: the spec's, each followed by its naive twin, then the worst case."""
    measured = {k[2] for k in values}
    order = [name for a in result.spec.attacks for name in (a.key, a.key + NAIVE_SUFFIX)]
    return [a for a in [*order, WORST_CASE] if a in measured]


# ---------------------------------------------------------------- sanity checks


def grid_checks(
    result: GridResult, rows: Sequence[GridRow], records: list[AttackRecord]
) -> list[Check]:
    """Carlini et al.'s measurement checks for each model and seed (the probe checks need the
    live model, which a grid does not keep), and that every cell saw the same model;
    ``records``: the attacks as a run records them (``_attack_records``)."""
    found: list[Check] = []
    for (model, seed, _), members in groups(result).items():
        finished = [r for _, r in members if r is not None]
        if not finished:
            continue
        defence = members[0][0].defence
        name = f"{model} / {defence} / seed {seed}"
        mine = [
            Measurement(name, r.attack, r.eps, r.metric, r.value)
            for r in rows
            if (r.model, r.defence, r.seed) == (model, defence, seed)
        ]
        found += checks(mine, records, {}, len(finished[0].class_names))
        found.append(_same_model(name, finished))
    return found


def _same_model(name: str, finished: Sequence[CellResult]) -> Check:
    cleans = {r.clean_accuracy for r in finished}
    if len(cleans) == 1:
        why = f"all {len(finished)} cell(s) measured clean accuracy {pct(cleans.pop())}"
        return Check(SAME_MODEL, PASS, name, why)
    why = (
        f"the cells measured clean accuracies {', '.join(pct(c) for c in sorted(cleans))}: they "
        "did not attack the same model (non-deterministic training, or a changed weights file)"
    )
    return Check(SAME_MODEL, FAIL, name, why)


def _attack_records(result: GridResult) -> list[AttackRecord]:
    """The spec's attacks as a run records them (norm, resolved parameters, sweep)."""
    spec = result.spec
    first = result.expansion.cells[0]
    model = next(g for g in grid_models(spec) if g.label == first.model)
    plan = validate(sub_spec(spec, model, spec.seed, spec.defences, spec.attacks))
    return attack_records(plan, len(_class_names(result)) or 2)


def _class_names(result: GridResult) -> list[str]:
    return next((v.class_names for _, v in result.finished()), [])


def _n_classes(result: GridResult) -> int | None:
    return len(_class_names(result)) or None
