"""The commands that read rather than run: ``list``, ``compare``, ``gate``, ``schema``, ``app``.
``harness.cli`` parses the command line and calls one of these with its arguments."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from harness.errors import HarnessError


def list_command(args: argparse.Namespace) -> int:
    if args.what == "benchmarks":
        return _list_benchmarks()
    from harness.architectures import ARCHITECTURES
    from harness.attacks import ATTACKS
    from harness.datasets import DATASETS
    from harness.defences import DEFENCES

    registry = {
        "datasets": DATASETS,
        "models": ARCHITECTURES,
        "attacks": ATTACKS,
        "defences": DEFENCES,
    }[args.what]
    for name in registry:
        item = registry.get(name)
        doc = getattr(item, "description", "") or (getattr(item, "__doc__", "") or "").strip()
        print(f"{name:<24} {doc.splitlines()[0] if doc else ''}".rstrip())
    if args.what == "models":
        _list_zoos()
    return 0


def _list_zoos() -> None:
    """The zoos a spec's ``model: {zoo: NAME, name: ...}`` reads from, after the architectures."""
    from harness.zoo import ZOOS

    print("\nzoo models (model: {zoo: ZOO, name: NAME, ...}; read offline, never trained):")
    for name in ZOOS:
        z = ZOOS.get(name)
        extra = f" [pip install 'robustness-harness[{z.extra}]']" if z.extra else ""
        print(f"zoo: {name:<19} {z.description}; fields: {', '.join(z.fields)}{extra}")


def _list_benchmarks() -> int:
    """Each shipped spec's name and the first line of its ``description``."""
    from harness.spec import catalog, read_spec

    for name in catalog.names():
        text = str(read_spec(name).raw.get("description") or "").strip()
        print(f"{name:<24} {text.splitlines()[0] if text else ''}".rstrip())
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from harness.compare import leaderboard, load_runs, write_comparison
    from harness.home import reports_dir
    from harness.outputs import comparison_target
    from harness.report.sections.comparison.leaderboard import sanity_text

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = comparison_target(args.out or reports_dir() / "compare" / stamp, args.overwrite)
    runs = load_runs(args.runs)
    out = write_comparison(runs, target.path, replace=target.replace)
    board = leaderboard(runs)
    print(f"comparison: {out}  ({_count(len(board.rows), 'model')}, ranked by {board.sorted_by})")
    if any(k.startswith("=") for k in board.ranks):
        print(f"  =k: tied with the entry above (within noise: {board.ties})")
    for rank, r in zip(board.ranks, board.rows, strict=True):
        auc = "—" if math.isnan(r.worst_auc) else f"{r.worst_auc:.4f}"  # nan: no ε > 0
        flag = sanity_text(r).replace("**", "")  # "FAIL: <checks>", "probes off"
        line = f"  {rank:>3}. {r.entry:<40} clean {r.clean_accuracy:.2%}  worst-case AUC {auc}"
        print(f"{line}  [sanity {flag}]" if flag else line)
    return 0


def gate_command(args: argparse.Namespace) -> int:
    import json

    from harness import gate
    from harness.card import read_reference
    from harness.reading import table
    from harness.results import rundir

    if not args.against and not args.require:
        raise HarnessError("gate: nothing to check; give --against RUN_DIR and/or --require FLOOR")
    if args.tolerance is not None and not 0 <= args.tolerance <= 100:
        raise HarnessError(
            f"--tolerance: expected 0 to 100 percentage points, got {args.tolerance}"
        )
    requirements = [gate.parse_requirement(r) for r in args.require]
    run = rundir.read_run(args.run, "gate").result
    findings, notes = gate.floors(run, requirements), []
    if args.against:
        reference = read_reference(args.against)
        findings = gate.against(run, reference, args.tolerance) + findings
        found = (
            gate.card_note(reference),
            gate.images_note(run, reference),
            gate.training_note(run, reference),
            gate.hardware_note(run, reference),
        )
        notes = [n for n in found if n]
    failed = [f for f in findings if f.failed]
    if args.json:
        out = {"passed": not failed, "notes": notes, "findings": [f.to_dict() for f in findings]}
        _print(json.dumps(out, indent=1, allow_nan=False))
        return 1 if failed else 0
    for note in notes:
        _print(f"note: {note}")
    if not failed:
        _print(f"gate: passed ({_count(len(findings), 'figure')} checked, none regressed "
               "beyond noise or below a floor)")  # fmt: skip
        return 0
    _print(
        f"gate: FAILED ({len(failed)} of {_count(len(findings), 'figure')}; {gate.judged(failed, args.tolerance)})"
    )
    _print(table(gate.HEADER, gate.table(failed)))
    return 1


def schema_command(args: argparse.Namespace) -> int:
    """The spec's JSON Schema, from the declarations that validate specs (no torch imported)."""
    import json

    from harness.io import write_text
    from harness.spec.document import SCHEMA_ID, spec_schema

    text = json.dumps(spec_schema(), indent=1) + "\n"
    if not args.out:
        _print(text.rstrip("\n"))
        return 0
    out = Path(args.out)
    if out.exists() and _schema_id(out) != SCHEMA_ID:  # only an earlier schema is replaced
        raise HarnessError(
            f"--out: {out} exists and is not a schema this command wrote; nothing was "
            "touched; choose another file"
        )
    try:
        write_text(out, text)
    except OSError as exc:
        raise HarnessError(f"--out: {out}: cannot write the schema ({exc.strerror})") from None
    print(f"schema: {out}")
    return 0


def _schema_id(path: Path) -> str | None:
    """The ``$id`` of a JSON file (None: not a regular file, unreadable or no such key)."""
    import json

    try:
        if path.is_file() and path.stat().st_size < 1_000_000:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return raw.get("$id") if isinstance(raw, dict) else None
    except (OSError, ValueError):
        pass
    return None


def _print(text: str) -> None:
    """print, quietly stopping when the reader went away (``harness gate ... | head``)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python's own advice for SIGPIPE)


def app_command(args: argparse.Namespace) -> int:
    import importlib.util

    from harness.app.launch import streamlit_command
    from harness.app.runs import newest_runs
    from harness.home import reports_dir

    if importlib.util.find_spec("streamlit") is None:
        raise HarnessError("app: streamlit is not installed; pip install -e '.[app]'")
    runs = args.runs or newest_runs(reports_dir())
    print(f"app: http://{args.address}:{args.port}  ({len(runs)} run folder(s))", flush=True)
    cmd = streamlit_command(runs, args.port, args.address)
    os.execv(cmd[0], cmd)  # become the server: signals (Ctrl-C, terminate) reach it directly
    return 0  # not reached


def _count(n: int, noun: str) -> str:
    """'1 model', '2 models'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
