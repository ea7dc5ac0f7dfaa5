"""Where the harness keeps what it writes: trained weights, the decode cache, default dataset
roots and reports.

All of it goes under one folder, the *home*: ``$HARNESS_HOME`` when set, else the working
directory, read at call time. Never beside the installed package: after ``pip install .``
that is inside site-packages (shared by every user of the environment, replaced on upgrade).
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "HARNESS_HOME"


def home() -> Path:
    """``$HARNESS_HOME``, or the working directory as the relative path ``.``, so that the
    paths the command line prints stay short."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path()


def models_dir() -> Path:
    """The trained-weights cache, ``<home>/models``; absolute, as ``run.json`` records it."""
    return (home() / "models").resolve()


def data_dir() -> Path:
    """The folder of default dataset roots (``<home>/data/<dataset>``) and the decode cache."""
    return (home() / "data").resolve()


def reports_dir() -> Path:
    """Where reports go when no ``--out`` is given: ``<home>/reports``."""
    return home() / "reports"
