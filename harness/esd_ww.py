"""WeightWatcher (the optional extra ``esd``) fitting the ESD power law of a model's layers.

WeightWatcher is asked for the same fit as ``harness.esd`` (whose docstring gives the method):
``pool=True`` (a Conv2d's kh*kw slices of shape (out, in) pooled into one ESD),
``conv2d_norm=False`` (no rescaling of Conv2d slices, so its eigenvalues are those of W^T W),
``pl_package="ww"`` with no ``xmax`` and no ``fix_fingers`` (its own untruncated power-law fit),
``min_evals`` as the harness's and no upper limit on the layer's size (its default skips layers
with more than 15000 eigenvalues). Its xmin, on eigenvalues of W^T W, is divided by N so that it
is on the harness's scale of X = W^T W / N.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.utils import skip_init

from harness.esd import rows

NO_LIMIT = 10**9  # max_evals and max_N: fit every layer, however large
OPTIONS = {
    "pool": True,
    "conv2d_norm": False,
    "pl_package": "ww",
    "xmax": None,
    "fix_fingers": False,
    "plot": False,
    "max_evals": NO_LIMIT,
    "max_N": NO_LIMIT,
}


def available() -> bool:
    """Whether WeightWatcher is installed."""
    return importlib.util.find_spec("weightwatcher") is not None


def label() -> str:
    """The ``fit`` field of a layer WeightWatcher fitted, e.g. "weightwatcher 0.7.7"."""
    return f"weightwatcher {importlib.metadata.version('weightwatcher')}"


def fits(model: nn.Module, names: Sequence[str], min_evals: int) -> dict[str, dict[str, Any]]:
    """Layer name -> {alpha, xmin, D, n_tail} for the named layers WeightWatcher fits (those
    with at least ``min_evals`` eigenvalues); alpha None and a note where its fit failed.

    ``names``: Conv2d / Linear layers with finite weights (its SVD raises on NaN).
    """
    if not names:
        return {}  # a model without layers: WeightWatcher's frame would have no columns
    proxy = _plain_copy(model, names)
    with contextlib.redirect_stdout(io.StringIO()):  # its small-N fit print()s
        df = _watcher(proxy).analyze(min_evals=min_evals, **OPTIONS)
    modules = dict(proxy.named_modules())
    return {r.longname: _fit(r, rows(modules[r.longname].weight.shape)) for r in df.itertuples()}


def _plain_copy(model: nn.Module, names: Sequence[str]) -> nn.Module:
    """A model holding only the named layers, under the same names, as plain Conv2d / Linear
    with a copy of their weight and no bias. WeightWatcher reads ``layer.weight.data`` of every
    module it walks, which fails on the parametrization modules of a spectral-normed layer, and
    sets a ``longname`` attribute on each, which must not land on the harness's model."""
    modules, root = dict(model.named_modules()), nn.Module()
    for name in names:
        parent = root
        *path, last = name.split(".")
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        parent.add_module(last, _plain(modules[name].weight.detach()))
    return root


def _plain(w: torch.Tensor) -> nn.Module:
    """A bias-free Conv2d (w: (out, in, kh, kw)) or Linear (w: (out, in)) with weight ``w``."""
    if w.ndim == 4:
        layer = skip_init(nn.Conv2d, w.shape[1], w.shape[0], tuple(w.shape[2:]), bias=False)
    else:
        layer = skip_init(nn.Linear, w.shape[1], w.shape[0], bias=False)
    layer.weight = nn.Parameter(w.clone(), requires_grad=False)
    return layer


def _watcher(model: nn.Module) -> Any:
    """``weightwatcher.WeightWatcher(model)``, imported without its side effect on logging: its
    import calls ``logging.basicConfig(level=INFO)``, which would print every INFO record."""
    root = logging.getLogger()
    handlers, level, disabled = list(root.handlers), root.level, logging.root.manager.disable
    logging.disable(logging.WARNING)  # its import warns that CUDA is absent (SciPy's SVD then)
    try:
        import weightwatcher
    finally:
        logging.disable(disabled)
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    return weightwatcher.WeightWatcher(model=model)


def _fit(r: Any, n: int) -> dict[str, Any]:
    """One row of WeightWatcher's details frame as the harness's fit fields (xmin / N)."""
    if not (r.alpha > 0 and math.isfinite(r.alpha)):  # -1: its fit failed
        note = "WeightWatcher's power-law fit failed"
        return {"alpha": None, "xmin": None, "D": None, "n_tail": 0, "note": note}
    tail = int(r.num_pl_spikes)
    return {"alpha": float(r.alpha), "xmin": float(r.xmin) / n, "D": float(r.D), "n_tail": tail}
