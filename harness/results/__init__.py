"""What a run produces, as typed records, and the run folder that stores them.

- ``records``: a ``RunResult`` and its JSON round trip: measurements, attack, defence and data
  records, models, ensemble breakdowns, out-of-memory fallbacks;
- ``analyses``: what the extra analyses add (evasion, Grad-CAM panel, attention, noise and
  minimal probes, example grids, certificates, weight analysis);
- ``corruption``: common-corruption accuracies and their metrics;
- ``checks``: the sanity checks' records (``Check``, ``ModelProbe``) and their statuses;
- ``rundir``: the one place that writes and reads a run folder (results.csv, run.json, npz).

Nothing here imports torch or ART: reading a finished run is cheap.
"""

from harness.results.analyses import (
    AttentionRow,
    CertifiedCurve,
    EvasionRow,
    ExampleGrid,
    GradcamPanel,
    MinimalPerturbation,
    NoiseProbe,
    WeightAnalysis,
)
from harness.results.checks import FAIL, PASS, STATUSES, WARN, Check, ModelProbe, summary
from harness.results.records import (
    CSV_COLUMNS,
    METRICS,
    AttackRecord,
    BatchFallback,
    BreakdownPart,
    ClassStats,
    DataSummary,
    DefenceRecord,
    EnsembleBreakdown,
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
    "STATUSES",
    "WARN",
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
    "WeightAnalysis",
    "summary",
]
