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
from harness.plan import NAIVE_SUFFIX, attack_record, validate
from harness.reading import DASH, WORST_CASE, num, pct, table
from harness.report import section_attacks, section_sanity
from harness.results import Measurement
from harness.sanity import FAIL, PASS, Check, checks
from harness.sweep import AttackOutcome, worst_case_rows

GRID_COLUMNS = ("model", "defence", "seed", "attack", "eps", "metric", "value")
RESULTS_CSV, REPORT_MD, RUN_JSON, CURVES_PNG = "results.csv", "report.md", "run.json", "curves.png"
SAME_MODEL = "same_model_in_every_cell"
PROBES_NOTE = (
    "\n\nA grid runs the checks that need only measurements; the ones that probe the live "
    "model (unbounded attack, gradients, logits, determinism) are in `harness run` reports."
)
Group = tuple[str, int, str]  # (grid model, seed, role)
Series = tuple[str, str]  # (grid model, defence)


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
        measured += [m for _, r in finished for m in r.rows]
        if len(finished) == len(members):
            measured += worst_case_rows(cell.role, _outcomes(finished))
        rows += [
            GridRow(cell.model, cell.defence, cell.seed, m.attack, m.eps, m.metric, m.value)
            for m in measured
        ]
    return rows


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
    with atomic_path(out / CURVES_PNG) as tmp:
        plots.save(curves_figure(result, rows), tmp)
    write_text(out / RUN_JSON, render_run_json(result))
    write_text(out / REPORT_MD, render_markdown(result, rows))
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


# ---------------------------------------------------------------- report.md


def render_markdown(result: GridResult, rows: Sequence[GridRow]) -> str:
    values, records = seed_values(rows), _attack_records(result)
    parts = [
        section_title(result),
        section_failures(result),
        section_attacks(records),
        section_clean(result, values),
        section_gain(result, rows, values),
        *section_attack_tables(result, values),
        section_sanity(grid_checks(result, rows, records)) + PROBES_NOTE,
        section_reproduce(result),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def section_title(result: GridResult) -> str:
    spec, grid = result.spec, result.spec.grid
    assert grid is not None
    statuses = [s.status for s in result.cells]
    models = list(dict.fromkeys(c.model for c in result.expansion.cells))
    roles = list(dict.fromkeys(c.role for c in result.expansion.cells))
    cell_seconds = {RAN: 0.0, REUSED: 0.0}  # each finished cell's own time, by status
    for s in result.cells:
        if isinstance(s.value, CellResult):
            cell_seconds[s.status] += s.value.seconds
    lines = [
        f"# Grid: {spec.name}",
        spec.description,
        f"- dataset: **{spec.dataset.name}**; ε ({len(spec.eps)}, swept inside each cell, "
        f"[0, 1] pixel units): {', '.join(num(e) for e in spec.eps)}",
        f"- {len(result.cells)} cells = {len(models)} model(s) ({', '.join(models)}) × "
        f"{len(grid.seeds)} seed(s) ({', '.join(map(str, grid.seeds))}) × {len(roles)} "
        f"baseline/defence(s) ({', '.join(roles)}) × {len(spec.attacks)} attack(s), less "
        "transfer attacks on their own source model",
        f"- this run: {statuses.count(REUSED)} cell(s) reused from an earlier run "
        f"({cell_seconds[REUSED]:,.1f} s of cell time then), {statuses.count(RAN)} ran "
        f"({cell_seconds[RAN]:,.1f} s of cell time), {statuses.count(FAILED)} failed, "
        f"{statuses.count(BLOCKED)} blocked by a failed model; "
        f"{len(result.units)} model(s) built or loaded; executor {result.executor}; "
        f"{result.provenance.get('seconds', 0):,.1f} s wall",
        "- *clean accuracy*: correct clean predictions over all test samples; *robust accuracy*: "
        "correct under attack over all test samples; *attack success rate*: broken by the attack "
        "over the clean-correct (attacked) samples. Each table cell: mean ± sample standard "
        "deviation over seeds, in %, and the number of seeds.",
    ]
    return "\n".join(line for line in lines if line)


def section_failures(result: GridResult) -> str:
    failed, blocked = result.failed(), result.blocked()
    if not failed and not blocked:
        return ""
    parts = [f"## Failed ({len(failed)} raised, {len(blocked)} blocked)"]
    if failed:
        parts.append(
            f"Each raised on {result.retries + 1} attempt(s) ({result.retries} retries) and was "
            "given up; the other cells went on. A rerun of the same spec runs them again "
            "(finished cells are kept)."
        )
        parts.append(
            table(
                ("cell or model", "attempts", "last error"),
                [(_what(s), s.attempts, s.error) for s in failed],
            )
        )
    if blocked:
        cells = [s for s in blocked if isinstance(s.item, Cell)]
        parts.append(
            f"Not run because a model they need failed: {len(cells)} cell(s) and "
            f"{len(blocked) - len(cells)} model(s): "
            + "; ".join(_what(s) for s in blocked)
            + f" (each with its reason in `{RUN_JSON}`)."
        )
    return "\n\n".join(parts)


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


def mean_std(values: Sequence[float] | None) -> str:
    if not values:
        return DASH
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{pct(mean)} (1)"
    return f"{pct(mean)} ± {100 * _std(values):.2f} ({len(values)})"


def _series(result: GridResult) -> list[Series]:
    return list(dict.fromkeys((c.model, c.defence) for c in result.expansion.cells))


def section_clean(result: GridResult, values: dict[tuple, list[float]]) -> str:
    rows = [
        (m, d, mean_std(values.get((m, d, "none", 0.0, "clean_accuracy"))))
        for m, d in _series(result)
    ]
    return "## Clean accuracy\n\n" + table(("model", "defence", "clean accuracy"), rows)


def section_gain(
    result: GridResult, rows: Sequence[GridRow], values: dict[tuple, list[float]]
) -> str:
    """Robust accuracy of each defence minus its own baseline's (same model and seed, so the
    same test subset and initial weights), mean ± std over seeds: what the hardening bought."""
    robust = {
        (r.model, r.defence, r.seed, r.attack, r.eps): r.value
        for r in rows
        if r.metric == "robust_accuracy" or r.attack == "none"
    }
    attacks = main_attacks(result, values)
    eps = [0.0] + [e for e in result.spec.eps if e > 0]
    seeds = result.spec.grid.seeds if result.spec.grid else ()
    parts = []
    for attack in attacks:
        lines = []
        for m, d in _series(result):
            if d == NO_DEFENCE:
                continue
            cells = []
            for e in eps:
                a = "none" if e == 0 else attack
                diffs = [
                    robust[(m, d, s, a, e)] - robust[(m, NO_DEFENCE, s, a, e)]
                    for s in seeds
                    if (m, d, s, a, e) in robust and (m, NO_DEFENCE, s, a, e) in robust
                ]
                cells.append(_gain_text(diffs))
            lines.append((m, d, *cells))
        if lines:
            header = ("model", "defence", "clean", *(f"ε={num(e)}" for e in eps[1:]))
            parts.append(f"### {attack}\n\n" + table(header, lines))
    if not parts:
        return ""
    intro = (
        "Each defence's robust accuracy minus its own baseline's (clean accuracy in the *clean* "
        "column), paired by seed: the same model, test subset and initial weights on both "
        "sides. Percentage points, mean ± sample standard deviation over seeds (number of seeds)."
    )
    return "\n\n".join(
        ["## What hardening bought (defence − baseline, paired by seed)", intro, *parts]
    )


def _gain_text(diffs: Sequence[float]) -> str:
    if not diffs:
        return DASH
    mean = 100 * float(np.mean(diffs))
    spread = f" ± {100 * _std(diffs):.2f}" if len(diffs) > 1 else ""
    return f"{mean:+.2f} pp{spread} ({len(diffs)})"


def attack_order(result: GridResult, values: dict[tuple, list[float]]) -> list[str]:
    """The measured attacks: the spec's, each followed by its naive twin, then the worst case."""
    measured = {k[2] for k in values}
    order = [name for a in result.spec.attacks for name in (a.key, a.key + NAIVE_SUFFIX)]
    return [a for a in [*order, WORST_CASE] if a in measured]


def main_attacks(result: GridResult, values: dict[tuple, list[float]]) -> list[str]:
    """The measured attacks without the naive twins (the spec's, then the worst case)."""
    return [a for a in attack_order(result, values) if not a.endswith(NAIVE_SUFFIX)]


def attack_heading(name: str) -> str:
    if name == WORST_CASE:
        return f"{name}: over all untargeted attacks, per sample"
    if name.endswith(NAIVE_SUFFIX):
        base = name.removesuffix(NAIVE_SUFFIX)
        return (
            f"{name}: {base} crafted on the undefended baseline, fed through the defence "
            f"(the naive attacker; the adaptive one is {base})"
        )
    return name


def section_attack_tables(result: GridResult, values: dict[tuple, list[float]]) -> list[str]:
    parts = []
    attacks = attack_order(result, values)
    eps = [e for e in result.spec.eps if e > 0]
    for attack in attacks:
        parts.append(f"## {attack_heading(attack)}")
        for metric, title in (
            ("robust_accuracy", "Robust accuracy"),
            ("attack_success_rate", "Attack success rate"),
        ):
            rows = [
                (m, d, *(mean_std(values.get((m, d, attack, e, metric))) for e in eps))
                for m, d in _series(result)
                if any((m, d, attack, e, metric) in values for e in eps)
            ]
            if rows:
                header = ("model", "defence", *(f"ε={num(e)}" for e in eps))
                parts.append(f"### {title}\n\n" + table(header, rows))
    if attacks:
        parts.append(
            f"![Robust accuracy vs ε, mean over seeds (band: ± one standard deviation; dashed: "
            f"the naive attacker)]({CURVES_PNG})"
        )
    return parts


def section_reproduce(result: GridResult) -> str:
    source = result.spec.source or "SPEC"
    return (
        "## Reproduce\n\n"
        f"`harness run {source}` (add `--executor ray` to run the cells on Ray). A rerun skips "
        "the cells already in `cells/` and gives the same `results.csv`, byte for byte. "
        f"Spec hash {result.provenance.get('spec_hash', DASH)}, git "
        f"{result.provenance.get('git_commit', DASH)}; versions and timings in `{RUN_JSON}`."
    )


# ---------------------------------------------------------------- sanity checks


def grid_checks(
    result: GridResult, rows: Sequence[GridRow], records: list[dict[str, Any]]
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


def _attack_records(result: GridResult) -> list[dict[str, Any]]:
    """The spec's attacks as a run records them (norm, resolved parameters, sweep)."""
    spec = result.spec
    first = result.expansion.cells[0]
    model = next(g for g in grid_models(spec) if g.label == first.model)
    plan = validate(sub_spec(spec, model, spec.seed, spec.defences, spec.attacks))
    k = len(_class_names(result)) or 2
    return [attack_record(p, k) for p in plan.attacks] + [
        attack_record(p, k, naive=True) for p in plan.naive
    ]


def _class_names(result: GridResult) -> list[str]:
    return next((v.class_names for _, v in result.finished()), [])


def _n_classes(result: GridResult) -> int | None:
    return len(_class_names(result)) or None


# ---------------------------------------------------------------- figure


def curves_figure(result: GridResult, rows: Sequence[GridRow]):
    """Robust accuracy vs ε per attack (and the worst case), one line per model and defence:
    the mean over seeds (ε = 0: clean accuracy) with a band of ± one sample standard deviation;
    a defence's naive twin of the attack dashed, in the defence's colour."""
    values = seed_values(rows)
    attacks = main_attacks(result, values)
    series = _series(result)
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    spread: dict[str, dict[str, list[float]]] = {}
    styles: dict[str, tuple[str, str]] = {}
    for attack in attacks:
        for i, (m, d) in enumerate(series):
            for name, entry, dash in (
                (attack, f"{m} / {d}", "-"),
                (attack + NAIVE_SUFFIX, f"{m} / {d}, naive", "--"),
            ):
                points = [(0.0, values.get((m, d, "none", 0.0, "clean_accuracy")))]
                points += [
                    (e, values.get((m, d, name, e, "robust_accuracy")))
                    for e in result.spec.eps
                    if e > 0
                ]
                known = [(e, v) for e, v in points if v]
                if len(known) > 1:
                    mean = [float(np.mean(v)) for _, v in known]
                    panels.setdefault(attack, {})[entry] = ([e for e, _ in known], mean)
                    spread.setdefault(attack, {})[entry] = [_std(v) for _, v in known]
                    styles[entry] = (f"C{i % 10}", dash)
    titles = {
        a: f"{a if a != WORST_CASE else 'worst case (per sample)'}: mean over seeds"
        for a in attacks
    }
    xlabels = {a: "ε ([0, 1] pixel units)" for a in attacks}
    return plots.compare_curves(panels, titles, xlabels, styles, _n_classes(result), spread)


def _std(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
