"""``## Provenance``: spec hash, git commit, seed, versions, phase timings (the parts of each
phase: ``timings``), weights files' hashes."""

from __future__ import annotations

from typing import Any

from harness.reading import DASH, table
from harness.results import RunResult

PROVENANCE_TABLES = {  # key -> (heading, table header)
    "versions": ("Versions", ("package", "version")),
    "timings_seconds": ("Timings", ("phase", "seconds")),
    "weights_sha256": ("Weights files (SHA-256)", ("model", "SHA-256")),
}

NOT_TABLED = {"timings_seconds": ("parts",)}  # shown by their own section (``timings``)


def markdown(result: RunResult) -> str:
    prov = dict(result.provenance)
    prov.setdefault("seed", result.seed)
    scalars = [
        (k.replace("_", " "), _prov_value(v)) for k, v in prov.items() if not isinstance(v, dict)
    ]
    parts = ["## Provenance", table(["", "value"], scalars)]
    for key, sub in prov.items():
        if isinstance(sub, dict):
            title, header = PROVENANCE_TABLES.get(
                key, (key.replace("_", " ").capitalize(), ("", "value"))
            )
            rows = [
                (k, f"{v:.2f}" if key == "timings_seconds" and isinstance(v, float | int) else v)
                for k, v in _flat(sub)
                if k not in NOT_TABLED.get(key, ())
            ]
            parts += [f"### {title}", table(header, rows)]
    return "\n\n".join(parts)


def _flat(sub: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A table's rows: a nested mapping (``machine.hardware``) as ``hardware: cpu`` rows."""
    out: list[tuple[str, Any]] = []
    for k, v in sub.items():
        out += _flat(v, f"{prefix}{k}: ") if isinstance(v, dict) else [(f"{prefix}{k}", v)]
    return out


def _prov_value(v: Any) -> str:
    return f"`{v}`" if isinstance(v, str) else DASH if v is None else str(v)
