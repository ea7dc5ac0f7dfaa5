"""The robustness card: what another tool (or a model hub) needs to know about a run, in one file.

``card.json`` holds the threat model (norm, headline ε and the rule that chose it), the attacks
with their budgets, the test set (dataset, size, the subset's seed and class counts, and a
SHA-256 naming that selection), the weights' SHA-256, the harness and library versions, the
hardware, every headline number with its 95% interval, and the sanity verdicts. For a run with
AutoAttack, ``robustbench`` is one record per model with RobustBench's own field names
(``clean_acc``, ``autoattack_acc``, ``eps``, ``dataset``, ``number_forward_passes``, ...) plus
the threat model and the number of images. ``card.md`` renders it as a Hugging Face model-card
section.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness import stats
from harness.attacks.select import recorded
from harness.errors import HarnessError
from harness.reading import NORMS, WORST_CASE, num, test_images
from harness.results import DataSummary, Measurement, ModelResult, RunResult
from harness.verdict import verdict

CARD_VERSION = 1
VERSIONS = ("robustness-harness", "adversarial-robustness-toolbox", "torch", "torchvision")


def card(result: RunResult) -> dict[str, Any]:
    """The card of a run (made or read back)."""
    v = verdict(result)
    prov = result.provenance
    return {
        "card_version": CARD_VERSION,
        "run": result.name,
        "seed": result.seed,
        "threat_model": _threat_model(result, v.eps, v.rule),
        "attacks": [
            {"name": a.name, "attack": a.attack, "norm": a.norm, "params": a.params}
            for a in result.attacks
        ],
        "test_set": _test_set(result),
        "interval": stats.LEVEL,
        "models": [_model(m, v.eps) | _what(result, m.role) for m in v.models],
        "caveats": {"upper_bound": v.upper_bound, "untrusted": v.untrusted},
        "weights_sha256": prov.get("weights_sha256", {}),
        "versions": {k: prov.get("versions", {}).get(k) for k in VERSIONS},
        "hardware": prov.get("machine", {}).get("hardware"),
        "robustbench": _robustbench(result, v),
    }


def card_json(result: RunResult) -> str:
    return json.dumps(card(result), indent=1, ensure_ascii=False) + "\n"


def card_markdown(result: RunResult) -> str:
    """A Hugging Face model-card section (``## Robustness``) from the card."""
    c = card(result)
    tm = c["threat_model"]
    norm = tm["norm"] if isinstance(tm["norm"], str) else "/".join(tm["norm"])
    lines = [
        "## Robustness",
        "",
        f"Evaluated with robustness-harness {c['versions']['robustness-harness']} on "
        f"{c['test_set']['dataset']} ({c['test_set']['n_test']} test images), "
        f"{NORMS.get(norm, norm)} threat model at ε = {tm['eps_text']} ({tm['eps_rule']}). "
        f"Figures with their {c['interval']}.",
        "",
        "| model | what it is | clean accuracy | lowest robust accuracy at ε (attack) | sanity checks |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in c["models"]:
        strongest = m.get("strongest")
        robust = f"{_text(strongest)} ({strongest['attack']})" if strongest else "—"
        tally = ", ".join(f"{n} {s}" for s, n in m["sanity"].items() if n) or "not run"
        what = m.get("architecture") or "—"
        if m.get("defence"):
            what += f", hardened by {m['defence']['name']}"
        lines.append(
            f"| {m['role']} | {what} | {_text(m['clean_accuracy'])} | {robust} | {tally} |"
        )
    if c["caveats"]["upper_bound"]:
        lines += ["", f"Upper bound: {c['caveats']['upper_bound']}."]
    if c["caveats"]["untrusted"]:
        lines += [
            "",
            f"Not trustworthy: a sanity check FAILED for {', '.join(c['caveats']['untrusted'])}.",
        ]
    attacks = ", ".join(f"{a['name']} ({NORMS.get(a['norm'], a['norm'])})" for a in c["attacks"])
    lines += ["", f"Attacks: {attacks}. Test subset id: `{c['test_set']['sha256'][:16]}`."]
    return "\n".join(lines) + "\n"


def read_reference(path: str | Path) -> RunResult:
    """The gate's ``--against``: a run folder, or a robustness card (card.json) of one."""
    from harness.results import rundir

    if Path(path).is_file():
        return read_card(path)
    return rundir.read_run(path, "gate against").result


def read_card(path: str | Path) -> RunResult:
    """A card.json read back as a run holding only its headline figures (the gate's
    ``--against CARD``): each model's clean accuracy and robust accuracy under each attack at
    the headline ε; no per-image flags, so comparisons with it are unpaired."""
    path = Path(path)
    try:
        c = json.loads(path.read_text(encoding="utf-8"))
        eps, test = c["threat_model"]["eps"], c["test_set"]
        rows = []
        for m in c["models"]:
            rows.append(
                Measurement(m["role"], "none", 0.0, "clean_accuracy", m["clean_accuracy"]["value"])
            )
            found = dict(m["robust_accuracy"]) | (
                {WORST_CASE: m["worst_case"]} if m.get("worst_case") else {}
            )
            rows += [
                Measurement(m["role"], a, eps, "robust_accuracy", i["value"])
                for a, i in found.items()
            ]
        _check_card(c)
        data = DataSummary(
            test["dataset"], n_test=test["n_test"], test_class_counts=test["class_counts"]
        )
        subset = {} if test["subset_seed"] is None else {"n_test": test["n_test"]}
        models = [
            ModelResult(m["role"], "", 0, m["clean_accuracy"]["value"], [], []) for m in c["models"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"{path}: not a robustness card ({type(exc).__name__}: {exc})") from None
    return RunResult(
        name=str(c.get("run", path.stem)),
        spec={"dataset": subset, "card": {"eps": eps}},
        seed=test["subset_seed"] if test["subset_seed"] is not None else int(c.get("seed", 0)),
        data=data,
        models=models,
        measurements=rows,
        attacks=[],
        provenance={"machine": {"hardware": c.get("hardware")}},
    )


def _check_card(c: dict[str, Any]) -> None:
    """A card's counts and proportions are what a card writes: a test set of at least one image,
    every figure a fraction in [0, 1] (ValueError otherwise)."""
    n = c["test_set"]["n_test"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"test_set.n_test must be a positive count, got {n!r}")
    eps = c["threat_model"]["eps"]
    if not isinstance(eps, int | float) or not 0 < eps <= 1:
        raise ValueError(f"threat_model.eps must be in (0, 1], got {eps!r}")
    for m in c["models"]:
        figures = [m["clean_accuracy"], *m["robust_accuracy"].values(), m.get("worst_case")]
        for f in filter(None, figures):
            v = f["value"]
            if not isinstance(v, int | float) or not 0 <= v <= 1:
                raise ValueError(f"{m['role']}: a figure must be a fraction in [0, 1], got {v!r}")


def _threat_model(result: RunResult, eps: float | None, rule: str) -> dict[str, Any]:
    norms = sorted({a.norm for a in result.attacks})  # "linf", "l2"
    return {
        "norm": norms[0] if len(norms) == 1 else norms,
        "eps": eps,
        "eps_text": num(eps) if eps is not None else "—",
        "eps_rule": rule.replace("`", ""),
    }


def _test_set(result: RunResult) -> dict[str, Any]:
    dataset, n, subset_seed = test_images(result)
    selection = {
        "dataset": dataset,
        "n_test": n,
        "subset_seed": subset_seed,
        "class_counts": list(result.data.test_class_counts),
    }  # not the folder it was read from: the same images elsewhere have the same id
    digest = hashlib.sha256(json.dumps(selection, sort_keys=True).encode()).hexdigest()
    return selection | {"sha256": digest}


def _interval(i: stats.Interval | None) -> dict[str, float] | None:
    return None if i is None else {"value": i.value, "low": i.low, "high": i.high}


def _model(m: Any, eps: float | None) -> dict[str, Any]:
    strongest = m.lowest
    return {
        "role": m.role,
        "clean_accuracy": _interval(m.clean),
        "robust_accuracy": {a: _interval(i) for a, i in m.robust.items()},
        "worst_case": _interval(m.worst),
        "strongest": None
        if strongest is None
        else {"attack": strongest[0], "eps": eps} | _interval(strongest[1]),
        "sanity": m.sanity,
    }


def _what(result: RunResult, role: str) -> dict[str, Any]:
    """The model's architecture and, for a hardened one, the defence that produced it."""
    m = next((x for x in result.models if x.role == role), None)
    if m is None:
        return {}
    d = m.defence
    defence = None if d is None else {"name": d.name, "params": d.params}
    return {"architecture": m.arch, "defence": defence}


def _robustbench(result: RunResult, v: Any) -> list[dict[str, Any]]:
    """One RobustBench-style record per model of a run that ran AutoAttack (else [])."""
    runs = [a for a in result.attacks if _reported(a) and not a.naive_of]
    if not runs or v.eps is None:
        return []
    name = runs[0].name
    norm = {"linf": "Linf", "l2": "L2"}.get(runs[0].norm, runs[0].norm)
    out = []
    for m in v.models:
        aa = m.robust.get(name)
        if aa is None:
            continue
        out.append(
            {
                "name": f"{result.name}/{m.role}",
                "dataset": result.data.name,
                "threat_model": norm,
                "eps": num(v.eps),
                "clean_acc": round(100 * m.clean.value, 2),
                "autoattack_acc": round(100 * aa.value, 2),
                "n_examples": v.n,
                "number_forward_passes": 1,
                "additional_data": None,
                "architecture": next((x.arch for x in result.models if x.role == m.role), None),
            }
        )
    return out


def _reported(record: Any) -> bool:
    """An attack whose number RobustBench reports: a declared ensemble (AutoAttack, L-inf or
    L2), chosen by its declaration, not by name."""
    d = recorded(record)
    return d is not None and d.ensemble


def _text(d: dict[str, float] | None) -> str:
    if not d:
        return "—"
    return stats.Interval(d["value"], d["low"], d["high"]).text()
