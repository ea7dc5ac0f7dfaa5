"""The MLflow sink: a finished run folder logged to an MLflow tracking store.

``mlflow`` is imported here only, and only when a spec has a ``tracking.mlflow`` section. The
store is asked once when the run starts (``check``: it answers, the experiment is not deleted),
with few retries, so a wrong URI costs seconds, not a benchmark. Once the report is written,
``log`` reads the folder back (``harness.tracking.content``) and sends it as one MLflow run:
params, metrics, tags, then the folder as artifacts under ``report/``, and marks it FINISHED
(FAILED when something went wrong on the way). A report already logged to the experiment (a
FINISHED run with the same run.json hash) is not logged twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.spec.loader import shorten
from harness.spec.tracking import MlflowSpec
from harness.tracking.content import REPORT_TAG, Content, collect

INSTALL = "pip install 'robustness-harness[mlflow]'"
ARTIFACTS = "report"  # the run folder's files go under this artifact path
# MLflow's batch limits (mlflow.utils.validation)
PARAMS_PER_BATCH = 100
METRICS_PER_BATCH = 1000
# While checking the store at the start: MLflow's defaults retry a refused connection for about
# four minutes (7 retries, backoff 2), meant for rate limits; a store that does not answer now
# fails the run in seconds. Set by the user, these variables are left as they are.
QUICK_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


class TrackingError(Exception):
    """Logging a finished run failed; one line, the report is already written."""


@dataclass(frozen=True)
class Logged:
    """Where a run folder went: the MLflow run, and whether it was there already."""

    run_id: str
    experiment_id: str
    already: bool = False


def mlflow_module() -> Any:
    """``mlflow``, or one line saying how to install it (exit 2). MLflow's log (INFO by
    default: a database's tables made, ...) follows the harness's (``-v`` shows both), unless
    ``MLFLOW_LOGGING_LEVEL`` says otherwise."""
    try:
        import mlflow
    except ImportError:
        raise HarnessError(
            f"tracking.mlflow: the mlflow package is not installed; {INSTALL}"
        ) from None
    if "MLFLOW_LOGGING_LEVEL" not in os.environ:
        logging.getLogger("mlflow").setLevel(logging.getLogger("harness").getEffectiveLevel())
    return mlflow


def shown(uri: str) -> str:
    """``uri`` without a password (``http://user:secret@host`` -> ``http://user:***@host``)."""
    return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", uri)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line of at most ``limit`` characters, its type first."""
    return shorten(" ".join(f"{type(exc).__name__}: {exc}".split()), limit)


class MlflowSink:
    """One spec's MLflow store (``tracking.mlflow``)."""

    def __init__(self, settings: MlflowSpec) -> None:
        self.settings = settings
        self.mlflow = mlflow_module()

    def _client(self) -> Any:
        return self.mlflow.MlflowClient(tracking_uri=self.settings.uri)

    def describe(self, logged: Logged) -> str:
        """One line: which run, which experiment, which store."""
        what = "already logged as" if logged.already else "logged as"
        return (
            f"mlflow: {what} run {logged.run_id} in experiment {self.settings.experiment!r} "
            f"at {shown(self.settings.uri)}"
        )

    def check(self) -> None:
        """The store answers and the experiment is usable; else one line naming the field."""
        where = "tracking.mlflow"
        try:
            with _quick_http():
                found = self._client().get_experiment_by_name(self.settings.experiment)
        except Exception as exc:  # whatever the store raised: the run has not started
            raise HarnessError(
                f"{where}.uri: {shown(self.settings.uri)}: {_refusal(exc)}"
            ) from None
        if found is not None and found.lifecycle_stage == "deleted":
            raise HarnessError(
                f"{where}.experiment: {self.settings.experiment!r} is deleted in that store; "
                "restore it (mlflow experiments restore) or choose another name"
            )

    def log(self, folder: str | Path) -> Logged:
        """Log the run folder ``folder``; any failure is a ``TrackingError`` (one line)."""
        from harness.results import rundir

        content = collect(rundir.read_run(folder, "track"))
        try:
            with _quiet_retries():
                return self._log(content, Path(folder))
        except TrackingError:
            raise
        except Exception as exc:  # the store's, the network's or the disk's: the report is safe
            raise TrackingError(one_line(exc)) from None

    def _log(self, content: Content, folder: Path) -> Logged:
        client = self._client()
        experiment = self._experiment(client)
        before = _logged_before(client, experiment, content.tags[REPORT_TAG])
        if before is not None:
            return Logged(before, experiment, already=True)
        name = self.settings.run_name or content.run_name
        run_id = client.create_run(experiment, run_name=name).info.run_id
        try:
            _send(client, run_id, content)
            client.log_artifacts(run_id, str(folder), ARTIFACTS)
        except BaseException:
            with contextlib.suppress(Exception), _quick_http():  # the store may be what failed
                client.set_terminated(run_id, "FAILED")
            raise
        client.set_tag(run_id, REPORT_TAG, content.tags[REPORT_TAG])  # last: complete runs only
        client.set_terminated(run_id, "FINISHED")
        return Logged(run_id, experiment)

    def _experiment(self, client: Any) -> str:
        """The experiment's id, made when missing (by another run meanwhile: that one)."""
        found = client.get_experiment_by_name(self.settings.experiment)
        if found is None:
            try:
                return client.create_experiment(self.settings.experiment)
            except Exception:
                found = client.get_experiment_by_name(self.settings.experiment)
                if found is None:
                    raise
        if found.lifecycle_stage == "deleted":
            raise TrackingError(f"experiment {self.settings.experiment!r} is deleted")
        return found.experiment_id


def _refusal(exc: Exception) -> str:
    """Why the store could not be used, in one line. MLflow 3 refuses a file store (a
    ``file:`` URI or a folder) unless ``MLFLOW_ALLOW_FILE_STORE=true``: said in a few words."""
    if "MLFLOW_ALLOW_FILE_STORE" in str(exc):
        return (
            "this MLflow refuses file stores unless MLFLOW_ALLOW_FILE_STORE=true is set; use a "
            "database (e.g. sqlite:///mlflow.db) or a tracking server, or set that variable"
        )
    return f"the tracking store cannot be used ({one_line(exc)})"


def _logged_before(client: Any, experiment: str, report: str) -> str | None:
    """The FINISHED run of ``experiment`` that logged the report with run.json hash ``report``."""
    query = f"tags.`{REPORT_TAG}` = '{report}' and attributes.status = 'FINISHED'"
    runs = client.search_runs([experiment], filter_string=query, max_results=1)
    return runs[0].info.run_id if runs else None


def _send(client: Any, run_id: str, content: Content) -> None:
    """Params, metrics and tags in batches of MLflow's sizes (the run.json hash is set last)."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    params = [Param(k, v) for k, v in content.params.items()]
    for i in range(0, len(params), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=params[i : i + PARAMS_PER_BATCH])
    metrics = [Metric(p.name, float(p.value), now, p.step) for p in content.metrics]
    for i in range(0, len(metrics), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metrics[i : i + METRICS_PER_BATCH])
    tags = [RunTag(k, v) for k, v in content.tags.items() if k != REPORT_TAG]
    for i in range(0, len(tags), PARAMS_PER_BATCH):
        client.log_batch(run_id, tags=tags[i : i + PARAMS_PER_BATCH])


@contextlib.contextmanager
def _quick_http() -> Iterator[None]:
    """``QUICK_HTTP`` for the variables the user has not set, restored after."""
    added = {k: v for k, v in QUICK_HTTP.items() if k not in os.environ}
    os.environ.update(added)
    try:
        with _quiet_retries():
            yield
    finally:
        for k in added:
            os.environ.pop(k, None)


@contextlib.contextmanager
def _quiet_retries() -> Iterator[None]:
    """No line per retried request (urllib3 warns each time): a failure is said once, by us."""
    logger = logging.getLogger("urllib3.connectionpool")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)
