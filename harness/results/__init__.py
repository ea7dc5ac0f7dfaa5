"""What a run produces, as typed records, and the run folder that stores them.

- ``records``: a ``RunResult`` and its JSON round trip: measurements, attack, defence and data
  records, models, out-of-memory fallbacks;
- ``breakdowns``: what each part of an ordered ensemble broke first (AutoAttack, the worst
  case, the spec's attacks white-box first for the masking check);
- ``analyses``: what the extra analyses add (evasion, Grad-CAM panel, attention, noise and
  minimal probes, example grids, certificates, weight analysis);
- ``corruption``: common-corruption accuracies and their metrics;
- ``checks``: the sanity checks' records (``Check``, ``ModelProbe``) and their statuses;
- ``rundir``: the one place that writes and reads a run folder (results.csv, run.json, npz).

Nothing here imports torch or ART: reading a finished run is cheap.
"""

from harness.results.analyses import (
    AttackConfusion,
    AttentionRow,
    CertifiedCurve,
    EvasionRow,
    ExampleGrid,
    GradcamPanel,
    MinimalPerturbation,
    NoiseProbe,
    WeightAnalysis,
)
from harness.results.breakdowns import BreakdownPart, EnsembleBreakdown
from harness.results.checks import (
    FAIL,
    PASS,
    SEVERITY,
    SKIP,
    STATUSES,
    WARN,
    Check,
    ModelProbe,
    probes_off,
    summary,
)
from harness.results.flags import SampleFlags
from harness.results.records import (
    CSV_COLUMNS,
    METRICS,
    AttackRecord,
    BatchFallback,
    ClassStats,
    DataSummary,
    DefenceRecord,
    EpochStats,
    Measurement,
    ModelResult,
    RunResult,
)

__all__ = [
    "CSV_COLUMNS",
    "FAIL",
    "METRICS",
    "PASS",
    "SEVERITY",
    "SKIP",
    "STATUSES",
    "WARN",
    "AttackConfusion",
    "AttackRecord",
    "AttentionRow",
    "BatchFallback",
    "BreakdownPart",
    "CertifiedCurve",
    "Check",
    "ClassStats",
    "DataSummary",
    "DefenceRecord",
    "EnsembleBreakdown",
    "EpochStats",
    "EvasionRow",
    "ExampleGrid",
    "GradcamPanel",
    "Measurement",
    "MinimalPerturbation",
    "ModelProbe",
    "ModelResult",
    "NoiseProbe",
    "RunResult",
    "SampleFlags",
    "WeightAnalysis",
    "probes_off",
    "summary",
]
