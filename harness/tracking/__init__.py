"""Tracking: a finished run also logged to an experiment tracker, when the spec asks.

A spec's ``tracking:`` section (``harness.spec.tracking``) names the store; today MLflow
(``tracking: {mlflow: {uri, experiment}}``, the optional extra ``mlflow``). The report folder
stays the record of a run: the sink reads it back once it is written, so what is logged is
what is on disk, and a report whose logging failed can be logged by running the same command
again.

- ``content``: what a run folder gives a store (params, metrics, tags), no tracking library;
- ``mlflow_sink``: the one module that imports ``mlflow``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.spec import Spec
    from harness.tracking.mlflow_sink import MlflowSink


def open_sink(spec: Spec) -> MlflowSink | None:
    """The spec's tracking sink, its store checked to answer (one line, exit 2, if not); None
    without a ``tracking`` section, and then nothing is imported."""
    if spec.tracking is None or spec.tracking.mlflow is None:
        return None
    from harness.tracking.mlflow_sink import MlflowSink

    sink = MlflowSink(spec.tracking.mlflow)
    sink.check()
    return sink
