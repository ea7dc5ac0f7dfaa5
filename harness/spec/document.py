"""The whole spec: ``Spec`` (one declaration per field) and ``parse_spec`` (a mapping in).

``defence:`` (one hardened model, "robust") and ``defences:`` (a list) are two spellings of one
field; the spec's name defaults to its file's stem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.reproducibility import MODES as REPRODUCIBLE
from harness.spec.checks import (
    MAX_THREADS,
    boolean,
    choice,
    described,
    device_request,
    epsilon,
    floats,
    integer,
    optional,
    pipe,
    random_seed,
    safe_name,
    schema_of,
    string,
    text,
)
from harness.spec.components import (
    AttackSpec,
    DefenceSpec,
    attack_list,
    defence_list,
    one_defence,
)
from harness.spec.corruption import CorruptionSpec
from harness.spec.gridspec import GridSpec, grid
from harness.spec.schema import identity, json_schema, nested, parse, plain, setting
from harness.spec.sections import (
    DataSpec,
    EvasionSpec,
    GradcamSpec,
    ModelSpec,
    Reference,
    SanitySpec,
    WeightsSpec,
    model_section,
)
from harness.spec.sizes import MAX_EPSILONS, MAX_GRID_CELLS, at_most
from harness.spec.tracking import TrackingSpec

SPEC_VERSION = 1
DEFAULT_EPS = (0.0, 0.05, 0.1, 0.2)


def _version(value: Any, where: str) -> int:
    version = integer(1)(value, where)
    if version != SPEC_VERSION:
        raise HarnessError(
            f"{where}: this harness reads spec version {SPEC_VERSION}, got {version}"
        )
    return version


described(_version, {"const": SPEC_VERSION})


def _epsilons(value: Any, where: str) -> tuple[float, ...]:
    """The sweep's epsilons in pixel units: each in [0, 1], each once, increasing."""
    eps = floats(value, where) or DEFAULT_EPS
    at_most(len(eps), MAX_EPSILONS, where, "epsilons")
    for i, e in enumerate(eps):
        epsilon(e, f"{where}[{i}]")
        if e in eps[:i]:
            raise HarnessError(
                f"{where}[{i}]: {e:g} is also {where}[{eps.index(e)}]; expected each epsilon once"
            )
    if list(eps) != sorted(eps):
        raise HarnessError(f"{where}: expected increasing epsilons, got {list(eps)}")
    return eps


described(
    _epsilons,
    {"type": "array", "minItems": 1, "maxItems": MAX_EPSILONS, "items": schema_of(epsilon)},
)


@dataclass(frozen=True)
class Spec:
    # Sections marked not_null have another experiment as their default: ``eps:`` left empty
    # must not mean "the defaults".
    name: str = setting(check=pipe(string, safe_name))  # default: the file's stem
    version: int = setting(SPEC_VERSION, _version)
    description: str = setting("", text)
    seed: int = setting(0, random_seed)
    dataset: DataSpec = setting(factory=DataSpec, check=nested(DataSpec), not_null=True)
    model: ModelSpec = setting(factory=ModelSpec, check=model_section, not_null=True)
    attacks: tuple[AttackSpec, ...] = setting(
        (AttackSpec("fgsm"),), attack_list(required=True), not_null=True
    )
    # eps-free analyses: noise, minimal (harness.probes)
    probes: tuple[AttackSpec, ...] = setting((), attack_list(required=False))
    eps: tuple[float, ...] = setting(DEFAULT_EPS, _epsilons, not_null=True)
    # `defence:` (one, named "robust") or `defences:` (a list, each named by its label or name)
    defences: tuple[DefenceSpec, ...] = setting((DefenceSpec(),), defence_list)
    evasion: EvasionSpec = setting(factory=EvasionSpec, check=nested(EvasionSpec), not_null=True)
    gradcam: GradcamSpec = setting(factory=GradcamSpec, check=nested(GradcamSpec), not_null=True)
    # the extras beyond the attacks, each on a bounded sample; at their defaults, left out of
    # hashes and keys (and of run.json's spec)
    sanity: SanitySpec = setting(SanitySpec(), nested(SanitySpec), recipe=True, not_null=True)
    weights: WeightsSpec = setting(WeightsSpec(), nested(WeightsSpec), recipe=True, not_null=True)
    eval_batch_size: int = setting(256, integer(1))
    # torch intra-op threads; None: leave torch's default
    threads: int | None = setting(None, optional(integer(1, MAX_THREADS)))
    # where the run computes (``harness.device.resolve``); auto: CUDA, then MPS, then the CPU.
    # Not part of the spec's identity: caches key on the device it resolves to (``harness.cache``)
    device: str = setting("auto", device_request, recipe=True)
    # mixed precision for evaluation (CUDA only); at its default, left out of hashes and keys
    amp: bool = setting(False, boolean, recipe=True)
    # standard: the same bytes on the same hardware and software; strict: on any x86 CPU
    # (``harness.reproducibility``). At its default, left out of hashes, keys and run.json's spec
    reproducible: str = setting("standard", choice(REPRODUCIBLE), recipe=True)
    # the ε the report's verdict leads with; None: the defence's training ε, else the dataset's
    # conventional ε, else the middle of the sweep (``harness.verdict``). Read by the report only
    headline: float | None = setting(None, optional(epsilon), recipe=True)
    # None: one run; else a grid of cells (``harness.grid``)
    grid: GridSpec | None = setting(None, optional(grid(None)))
    # the file the spec came from (not part of its identity)
    source: str | None = setting(None, key=False)
    # published figures to compare (not part of its identity)
    reference: Reference | None = setting(None, optional(nested(Reference)))
    # common corruptions of the test set (``harness.corruptions``); absent: none, hashes unchanged
    corruptions: CorruptionSpec | None = setting(
        None, optional(nested(CorruptionSpec)), recipe=True
    )
    # where the finished run is also logged (``harness.tracking``); where it goes, not what it
    # is: left out of hashes, keys and run.json's spec
    tracking: TrackingSpec | None = setting(None, optional(nested(TrackingSpec)))
    # the files ``source`` includes, in reading order (where it came from, not what it is)
    includes: tuple[str, ...] = setting((), key=False, provenance=True)

    def to_dict(self) -> dict[str, Any]:
        d = plain(self)  # asdict, less sparse fields at their defaults (newer optional ones)
        d.pop("source"), d.pop("includes"), d.pop("tracking")
        # Where it runs, at the defaults, is left out: run.json's spec reads as before (the
        # device a run resolved to is in its provenance).
        if d["device"] == "auto":
            d.pop("device")
        if not d["amp"]:
            d.pop("amp")
        if d["reproducible"] == "standard":
            d.pop("reproducible")
        if d["headline"] is None:
            d.pop("headline")
        if d["grid"] is not None and not d["grid"]["gpus_per_cell"]:
            d["grid"].pop("gpus_per_cell")
        if d["corruptions"] is None:
            d.pop("corruptions")  # run.json of a spec without the section reads as before
        return _without_default_extras(d)

    def identity(self) -> dict[str, Any]:
        """``to_dict`` without recipe fields at their defaults: what hashes and keys are made of."""
        d = identity(self)
        d.pop("source"), d.pop("includes"), d.pop("reference"), d.pop("device", None)
        d.pop("tracking")
        return d

    def digest(self) -> str:
        """Content hash of the resolved spec (identity of a run's inputs)."""
        return stable_hash(self.identity())

    def cross_check(self, where: str) -> None:
        """The grid's size is bounded; each reference row names a model, attack and epsilon of
        this spec; a grid is not tracked (its cells are runs of their own)."""
        self._check_grid_size()
        if self.grid is not None and self.tracking is not None:
            raise HarnessError(
                "tracking: a grid's cells are not logged to a tracking store; leave tracking "
                "out of a grid spec (a single run's spec takes it)"
            )
        rows = self.reference.rows if self.reference else ()
        models = ["baseline", *(d.key for d in self.defences)]
        attacks = ["none", *(a.key for a in self.attacks)]
        for i, row in enumerate(rows):
            at = f"reference.rows[{i}]"
            if row.model not in models:
                raise HarnessError(
                    f"{at}.model: expected one of {', '.join(models)}, got {row.model!r}"
                )
            if row.attack not in attacks:
                raise HarnessError(
                    f"{at}.attack: expected one of {', '.join(attacks)}, got {row.attack!r}"
                )
            if row.attack != "none" and not any(abs(row.eps - e) < 1e-9 for e in self.eps):
                raise HarnessError(f"{at}.eps: {row.eps} is not one of the spec's eps")

    def _check_grid_size(self) -> None:
        """At most MAX_GRID_CELLS cells, counted as ``harness.grid.cells.expand`` makes them (at
        most: a transfer attack skips its own surrogate) before any is made."""
        if self.grid is None:
            return
        models, seeds = len(self.grid.models) or 1, len(self.grid.seeds)
        roles, attacks = 1 + len(self.defences), len(self.attacks) + (self.corruptions is not None)
        how = f"{models:,} model(s) x {seeds:,} seed(s) x {roles:,} (baseline and defences) x "
        how += f"{attacks:,} (attacks and corruptions) gives "
        at_most(models * seeds * roles * attacks, MAX_GRID_CELLS, "grid", "cells", how)


def stable_hash(obj: Any, n: int = 12) -> str:
    dumped = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(dumped.encode()).hexdigest()[:n]


SCHEMA_ID = "https://robustness-harness.invalid/spec.schema.json"  # a name, never fetched


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (``harness schema``), walked from the declarations that
    validate it, plus the two keys read before them: ``include`` (files merged under this one)
    and ``defence`` (one hardened model, the short form of ``defences``)."""
    out = json_schema(Spec)
    props = out["properties"]
    props["include"] = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "spec files (paths relative to this one) merged under this file",
    }
    props["defence"] = schema_of(one_defence)
    out.pop("required", None)  # name: the file's stem when left out
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID}
    return head | {"title": "robustness-harness benchmark spec"} | out


def parse_spec(raw: Any, source: str | None = None, includes: tuple[str, ...] = ()) -> Spec:
    """Turn a raw mapping (from YAML) into a validated ``Spec``; ``source`` is its file and
    ``includes`` the files that file includes (``harness.spec.files``)."""
    checks = {}
    if isinstance(raw, dict):
        raw = {"name": Path(source).stem if source else "benchmark", **raw}
        checks["grid"] = optional(grid(raw.get("model")))
        if "defence" in raw:
            if "defences" in raw:
                raise HarnessError(
                    "defence/defences: give one of them (a single defence or a list)"
                )
            raw["defences"], checks["defences"] = raw.pop("defence"), one_defence
    return parse(Spec, raw, "", checks, source=source, includes=includes)


def _without_default_extras(d: dict[str, Any]) -> dict[str, Any]:
    """``to_dict`` without the extras' switches at their defaults: run.json's spec reads as
    before they existed."""
    for key, section in (("sanity", SanitySpec()), ("weights", WeightsSpec())):
        if d[key] == dataclasses.asdict(section):
            d.pop(key)
    defaults = dataclasses.asdict(GradcamSpec())
    for key in ("attention", "examples"):
        if d["gradcam"][key] == defaults[key]:
            d["gradcam"].pop(key)
    return d
