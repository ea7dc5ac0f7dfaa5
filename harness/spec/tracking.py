"""The ``tracking:`` section: where a finished run is also logged (``harness.tracking``).

Where a run is logged is not what it measured: the section is left out of the spec's hashes,
its cache keys and run.json's spec, so a tracked run and an untracked one are the same run.
Only the shape is checked here (no tracking library is imported to validate a spec); whether
the store answers is asked when the run starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.spec.checks import described, optional, string
from harness.spec.schema import nested, setting

# MLflow's own limits (mlflow.utils.validation): an experiment's name, a run's name (a tag)
MAX_EXPERIMENT = 500
MAX_RUN_NAME = 250
MAX_URI = 2000


def _uri(value: Any, where: str) -> str:
    """A tracking URI: one line, no spaces (http://host:5000, sqlite:///mlflow.db, file:...)."""
    value = string(value, where)
    if len(value) > MAX_URI or not re.match(r"^\S+$", value):
        raise HarnessError(
            f"{where}: expected a URI such as http://127.0.0.1:5000 or sqlite:///mlflow.db "
            f"(one line, no spaces, at most {MAX_URI} characters), got {value[:80]!r}"
        )
    return value


def _name(limit: int) -> Any:
    """A non-empty name of at most ``limit`` characters."""

    def check(value: Any, where: str) -> str:
        value = string(value, where)
        if len(value) > limit:
            raise HarnessError(f"{where}: expected at most {limit} characters, got {len(value)}")
        return value

    return described(check, {"type": "string", "minLength": 1, "maxLength": limit})


described(_uri, {"type": "string", "pattern": r"^\S+$", "maxLength": MAX_URI})


@dataclass(frozen=True)
class MlflowSpec:
    """An MLflow tracking store: the resolved spec as parameters, the per-epoch training
    metrics, every results.csv figure with its 95% interval, the sanity verdicts as tags and
    the report folder as artifacts, logged once the report is written."""

    uri: str = setting(check=_uri)  # the tracking URI
    experiment: str = setting(check=_name(MAX_EXPERIMENT))  # made if missing
    run_name: str | None = setting(None, optional(_name(MAX_RUN_NAME)))


@dataclass(frozen=True)
class TrackingSpec:
    """Where the run is also logged once its report is written (absent: nowhere)."""

    mlflow: MlflowSpec | None = setting(None, optional(nested(MlflowSpec)))

    def cross_check(self, where: str) -> None:
        if self.mlflow is None:
            raise HarnessError(
                f"{where}: expected a tracking store, e.g. mlflow: {{uri: "
                f"http://127.0.0.1:5000, experiment: robustness}} (or leave {where} out)"
            )
