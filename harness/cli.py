"""Command line: ``harness run|validate|list|compare|app``. The edge: parse, call the API, print."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness import commands
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.plan import Plan
    from harness.spec import Spec
    from harness.tracking.mlflow_sink import MlflowSink

REGISTRIES = ("datasets", "models", "attacks", "defences")
LISTS = ("benchmarks", *REGISTRIES)  # ``harness list WHAT``
ALIASES = {"defenses": "defences", "architectures": "models", "benchmark": "benchmarks"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="harness", description="Build -> Break -> Improve robustness benchmarks."
    )
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a benchmark spec and write its report")
    run.add_argument("spec", nargs="?", help="spec file or shipped benchmark name "
                     "(harness list benchmarks; default: digits_fgsm)")  # fmt: skip
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a spec field, e.g. --set seed=1 --set dataset.n_test=500")  # fmt: skip
    run.add_argument("--out", help="report folder (default: reports/<name>/<run-id>; a grid: "
                     "reports/<name>/grid, where a rerun finds its finished cells; under "
                     "$HARNESS_HOME when set, else the working directory)")  # fmt: skip
    run.add_argument("--models-dir", help="trained-weights cache (default: models/ under "
                     "$HARNESS_HOME or the working directory)")  # fmt: skip
    run.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (as --set device=...)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an earlier harness report in --out (never any other folder)")  # fmt: skip
    loud = run.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true",
                      help="print only the closing summary (and errors)")  # fmt: skip
    loud.add_argument("-v", "--verbose", action="store_true",
                      help="also print the harness's log (data decoding, cache, cleanup)")  # fmt: skip
    grid = run.add_argument_group("grids (specs with a grid: section)")
    grid.add_argument("--executor", choices=("local", "ray"), default="local",
                      help="local: cells in this process, in order; ray: cells as Ray tasks")  # fmt: skip
    grid.add_argument("--address", help="ray: join this cluster (e.g. auto, ray://head:10001) "
                      "instead of starting a local Ray instance")  # fmt: skip
    grid.add_argument("--num-cpus", type=int, help="ray: CPUs of the local instance (default: all)")
    grid.add_argument("--retries", type=int, default=2,
                      help="retries of a cell whose worker is lost or that runs out of memory "
                      "(default 2); other errors would recur and are not retried")  # fmt: skip
    val = sub.add_parser("validate", help="check a spec without running it")
    val.add_argument("spec", help="spec file or shipped benchmark name")
    val.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    val.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (as --set device=...)")
    lst = sub.add_parser("list", help="list the shipped benchmarks or registered components")
    lst.add_argument("what", choices=LISTS, type=lambda w: ALIASES.get(w, w))
    cmp = sub.add_parser("compare", help="compare finished run folders side by side")
    cmp.add_argument("runs", nargs="+", metavar="RUN_DIR", help="report folders of earlier runs")
    cmp.add_argument("--out", help="output folder (default: reports/compare/<timestamp>)")
    cmp.add_argument("--overwrite", action="store_true",
                     help="replace an earlier comparison in --out (never any other folder)")  # fmt: skip
    gate = sub.add_parser("gate", help="exit 1 when a run regressed against a reference run "
                          "beyond noise or broke a floor (for CI)")  # fmt: skip
    gate.add_argument("run", metavar="RUN_DIR", help="the run folder to check")
    gate.add_argument("--against", metavar="RUN_DIR|CARD",
                      help="reference run folder or its card.json: every figure both have must "
                      "not fall beyond its 95%% interval (or --tolerance)")  # fmt: skip
    gate.add_argument("--require", action="append", default=[], metavar="FLOOR",
                      help="an absolute floor, e.g. 'robust_accuracy[pgd, 8/255] >= 0.40' or "
                      "'clean_accuracy[baseline] >= 0.9' (repeatable)")  # fmt: skip
    gate.add_argument("--tolerance", type=float, metavar="PP",
                      help="a fall of more than PP percentage points is a regression, instead "
                      "of the interval test")  # fmt: skip
    gate.add_argument("--json", action="store_true", help="print the findings as JSON")
    sch = sub.add_parser("schema", help="print the JSON Schema of a spec file (for editors)")
    sch.add_argument("--out", help="write it to this file instead")
    app = sub.add_parser("app", help="start the interactive Streamlit demo on finished runs")
    app.add_argument("runs", nargs="*", metavar="RUN_DIR",
                     help="run folders (default: the newest run of each benchmark under reports/)")  # fmt: skip
    app.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    app.add_argument("--address", default="localhost", help="address to bind (default localhost)")
    return p


def _version() -> str:
    """``harness 0.1.0 (robustness-harness; Python 3.11.2)``: read without importing torch."""
    from harness import __version__

    return f"harness {__version__} (robustness-harness; Python {sys.version.split()[0]})"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised in the main thread so the same cleanup runs for both."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop(signum: int, frame: object) -> None:
    for s in STOP_SIGNALS:  # a second Ctrl-C must not cut the cleanup short
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Interrupted`` while the command runs; handlers restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (signals are delivered there)
        return
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, _stop)
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.from_shell = argv is None  # sys.argv: a process of its own, which may start itself again
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    dispatch = {
        "run": _run,
        "validate": _validate,
        "list": commands.list_command,
        "compare": commands.compare_command,
        "gate": commands.gate_command,
        "schema": commands.schema_command,
        "app": commands.app_command,
    }
    with _interruptible():
        try:
            return dispatch[args.command](args)
        except HarnessError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (``Interrupted``)
            return _interrupted(args, getattr(exc, "signum", signal.SIGINT), exc)
        except OSError as exc:  # a path argument no file system can hold, wherever it is used
            if exc.errno != errno.ENAMETOOLONG:
                raise
            from harness.spec.loader import shorten

            print(
                f"error: {shorten(str(exc.filename))}: name too long ({exc.strerror})",
                file=sys.stderr,
            )
            return 2


# what a rerun of an interrupted run picks up: the weights cache holds every finished model, and
# a training with an epoch checkpoint resumes from it (``harness.epoch_checkpoints``)
CACHED = "finished models are cached and a rerun reuses them"
RESUME = f"{CACHED} (a model stopped mid-training starts over)"


def _interrupted(args: argparse.Namespace, signum: int, exc: BaseException) -> int:
    """One line, and the shell's code for death by a signal (128 + its number)."""
    resumes = getattr(exc, "resumes", None)  # "training of <model> resumes at epoch k"
    rest = f"; {resumes}; {CACHED}" if resumes else f"; {RESUME}"
    rest = rest if args.command == "run" else ""
    print(f"error: interrupted ({signal.Signals(signum).name}){rest}", file=sys.stderr)
    return 128 + signum


def _load(args: argparse.Namespace) -> Spec:
    """Read the spec (with its ``--set`` overrides)."""
    from harness.overrides import load_with_overrides

    device = getattr(args, "device", None)  # the spec field, with its checks
    device = [f"device={device}"] if device else []
    try:
        return load_with_overrides(args.spec, [*args.overrides, *device])
    except HarnessError as exc:  # blamed on "--set device=X": the user typed --device X
        if device and str(exc).startswith(f"--set {device[0]}: "):
            raise HarnessError(f"--device {args.device}: {str(exc).split(': ', 1)[1]}") from None
        raise


def _checked(spec: Spec, overrides: Sequence[str] = ()) -> Plan:
    """The spec fully validated, once, before any heavy work; errors name the spec file, or
    the ``--set`` override that wrote the field."""
    from harness.plan import validate
    from harness.spec.files import blamed

    try:
        return validate(spec)
    except HarnessError as exc:
        raise HarnessError(blamed(str(exc), spec.source, overrides)) from None


def _run(args: argparse.Namespace) -> int:
    spec = _load(args)  # a wrong name or field is one line before anything heavy is imported
    from harness import console, home, lock, outputs

    console.set_level(
        console.QUIET if args.quiet else console.VERBOSE if args.verbose else console.NORMAL
    )
    if args.from_shell:  # a process of its own: strict mode may start it again (reproducibility)
        from harness.reproducibility import restart_if_needed

        restart_if_needed(spec.reproducible)
    plan = _checked(spec, args.overrides)
    if spec.grid is not None:
        return _run_grid(args, spec)
    from harness.tracking import open_sink

    sink = open_sink(spec)  # a tracking store that does not answer: one line, nothing run
    run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-seed{spec.seed}"
    out = Path(args.out) if args.out else home.reports_dir() / spec.name / run_id
    outputs.report_location(out)  # before its lock file is made beside it
    with lock.hold(out):  # a second run on this --out is refused now, not after its benchmark
        return _run_report(args, spec, plan, out, sink)


def _run_report(
    args: argparse.Namespace, spec: Spec, plan: Plan, out: Path, sink: MlflowSink | None
) -> int:
    """``harness run`` of a spec without a grid, holding ``out``'s lock; the report is
    written, then logged to the tracking store (``sink``, when the spec has one)."""
    from harness import outputs, runner
    from harness.report import write_report
    from harness.verdict import summary_lines

    target = outputs.report_target(out, spec.digest(), args.overwrite)
    models_dir = Path(args.models_dir) if args.models_dir else None
    outputs.check_models_dir(models_dir or runner.default_models_dir(), out)
    if target.done:
        print(f"report: {out} already holds the finished report of this spec; nothing to do "
              "(--overwrite runs it again)")  # fmt: skip
        return _track(sink, out)
    result = runner.run(spec, models_dir=models_dir, plan=plan)
    try:
        write_report(result, out, replace=target.replace)
    except OSError as exc:
        raise HarnessError(f"--out: {out}: the report could not be written ({exc})") from None
    total = result.provenance["timings_seconds"]["total"]
    print(f"report: {out}  ({total:.1f}s)")
    print("\n".join(summary_lines(result)))
    return _track(sink, out)


def _track(sink: MlflowSink | None, out: Path) -> int:
    """Log the written report ``out`` to the tracking store. A failure keeps the report: one
    warning line and exit 1 (the run is not where the spec asked for it); ``--out`` with the
    same folder logs it later without running anything again."""
    if sink is None:
        return 0
    from harness.tracking.mlflow_sink import TrackingError, shown

    try:
        logged = sink.log(out)
    except TrackingError as exc:
        print(f"warning: tracking: the report {out} is written but was not logged to "
              f"{shown(sink.settings.uri)} ({exc}); harness run with --out {out} logs it "
              "without running again", file=sys.stderr)  # fmt: skip
        return 1
    print(sink.describe(logged))
    return 0


def _run_grid(args: argparse.Namespace, spec: Spec) -> int:
    from harness import home, lock, outputs

    out = Path(args.out) if args.out else home.reports_dir() / spec.name / "grid"
    outputs.grid_target(out, args.overwrite)
    with lock.hold(out):  # one grid run a folder: two would run the same cells
        return _run_grid_locked(args, spec, out)


def _run_grid_locked(args: argparse.Namespace, spec: Spec, out: Path) -> int:
    from harness import outputs
    from harness.grid import run_grid, write_grid_report

    outputs.grid_target(out, args.overwrite)  # again, now that no other run can change it
    if args.models_dir:
        outputs.check_models_dir(args.models_dir, None)
    result = run_grid(
        spec,
        out,
        executor=args.executor,
        address=args.address,
        num_cpus=args.num_cpus,
        retries=args.retries,
        models_dir=args.models_dir,
    )
    write_grid_report(result, out)
    statuses = [s.status for s in result.cells]
    print(f"report: {out}  ({result.provenance['seconds']:.1f}s, {result.executor})")
    print(f"  cells: {len(statuses)}: {statuses.count('reused')} reused, "
          f"{statuses.count('ran')} ran, {statuses.count('failed')} failed, "
          f"{statuses.count('blocked')} blocked by a failed model")  # fmt: skip
    for s in result.failed():
        what = f"cell {s.item.attack} on" if hasattr(s.item, "attack") else "model"
        print(f"  failed ({s.attempts} attempts): {what} {s.item.model} seed {s.item.seed} "
              f"{s.item.role}: {s.error}")  # fmt: skip
    return 1 if result.failed() or result.blocked() else 0


def _validate(args: argparse.Namespace) -> int:
    spec = _load(args)
    _checked(spec, args.overrides)
    grid = ""
    if spec.grid is not None:
        from harness.grid.cells import HOST, expand

        found = expand(spec, HOST)  # the counts do not depend on the device: no torch asked
        grid = f", a grid of {len(found.cells)} cells and {len(found.units)} models"
    print(f"{args.spec}: ok ({spec.name}, dataset {spec.dataset.name}, {len(spec.attacks)} attack(s), "
          f"{len(spec.eps)} epsilons{grid})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
