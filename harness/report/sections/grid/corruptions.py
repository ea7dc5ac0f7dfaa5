"""``## Common corruptions`` of a grid: each model's mean corruption accuracy and mCE, mean ±
std over seeds, and what each defence changes, paired by seed with its own baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.corruptions.catalog import family
from harness.reading import table
from harness.report.grid_view import GridReport
from harness.report.sections.grid.stats import gain_text, mean_std, std
from harness.report.templates import prose
from harness.results.corruption import CSV_PREFIX, CorruptionAccuracy, family_means, summarize

HEADER = ["model", "defence", "mean corruption accuracy", "change vs baseline", "mCE"]


def applies(g: GridReport) -> bool:
    return bool(g.corruptions)


def markdown(g: GridReport) -> str:
    per_seed = _summaries(g)
    base, rows = g.no_defence, []
    families = sorted({family(r.attack.removeprefix(CSV_PREFIX)) for r in g.corruptions})
    fam_rows = []
    for m, d in g.series:
        mine = {s: v for (mm, dd, s), v in per_seed.items() if (mm, dd) == (m, d)}
        if not mine:
            continue
        acc = [v[0] for v in mine.values()]
        diffs = [
            v[0] - per_seed[(m, base, s)][0] for s, v in mine.items() if (m, base, s) in per_seed
        ]
        mce = [v[1] for v in mine.values()]
        rows.append([m, d, mean_std(acc), gain_text(diffs) if d != base else "", _mce(mce)])
        fam_rows.append(
            [m, d, *(mean_std([v[2][f] for v in mine.values() if f in v[2]]) for f in families)]
        )
    return prose(
        "grid/corruptions",
        summary=table(HEADER, rows),
        families=table(["model", "defence", *families], fam_rows),
        n=_n_sets(g),
    )


def _summaries(g: GridReport) -> dict[tuple[str, str, int], tuple[float, float, dict[str, float]]]:
    """(model, defence, seed) -> (mean corruption accuracy, mCE vs that seed's baseline, family
    -> mean accuracy)."""
    clean = {(r.model, r.defence, r.seed): r.value for r in g.rows if r.metric == "clean_accuracy"}
    out = {}
    for (m, seed), records in _by_model_seed(g.corruptions).items():
        roles = list(dict.fromkeys(r.model for r in records))  # the grid's order
        ref = g.no_defence if g.no_defence in roles else roles[0]
        acc = {d: clean.get((m, d, seed), float("nan")) for d in roles}
        families = family_means(records)
        for s in summarize(records, acc, ref):
            out[(m, s.model, seed)] = (s.mean_corruption_accuracy, s.mce, families[s.model])
    return out


def _by_model_seed(rows: Sequence[Any]) -> dict[tuple[str, int], list[CorruptionAccuracy]]:
    """The grid rows as corruption records, the defence as the record's model, by (model, seed)."""
    out: dict[tuple[str, int], list[CorruptionAccuracy]] = {}
    for r in rows:
        name = r.attack.removeprefix(CSV_PREFIX)
        record = CorruptionAccuracy(r.defence, name, family(name), int(r.eps), r.value, 0)
        out.setdefault((r.model, r.seed), []).append(record)
    return out


def _mce(values: Sequence[float]) -> str:
    v = [x for x in values if x == x]
    if not v:
        return "—"
    spread = f" ± {std(v):.1f}" if len(v) > 1 else ""
    return f"{np.mean(v):.1f}{spread} ({len(v)})"


def _n_sets(g: GridReport) -> int:
    return len({(r.attack, r.eps) for r in g.corruptions})
