"""What a run produces, as typed records, and the run folder that stores them.

- ``records``: the dataclasses of a ``RunResult`` (measurements, models, probes, panels,
  certificates) and their JSON round trip;
- ``checks``: the sanity checks' records (``Check``, ``ModelProbe``) and their statuses;
- ``rundir``: the one place that writes and reads a run folder (results.csv, run.json, npz).

Nothing here imports torch or ART: reading a finished run is cheap.
"""

from harness.results.checks import FAIL, PASS, STATUSES, WARN, Check, ModelProbe, summary
from harness.results.records import (
    CSV_COLUMNS,
    METRICS,
    AttackRecord,
    AttentionRow,
    BreakdownPart,
    CertifiedCurve,
    ClassStats,
    EnsembleBreakdown,
    EpochStats,
    EvasionRow,
    ExampleGrid,
    GradcamPanel,
    Measurement,
    MinimalPerturbation,
    ModelResult,
    NoiseProbe,
    RunResult,
    WeightAnalysis,
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
    "BreakdownPart",
    "CertifiedCurve",
    "Check",
    "ClassStats",
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
