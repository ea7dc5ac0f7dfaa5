"""Finished cells on disk: ``<run folder>/cells/<cell key>.json``, one file per cell.

A cell's file is written atomically (temporary file, then rename) as soon as the cell finishes,
so at any moment, including right after ``kill -9``, the folder holds only complete cells. A
rerun reads them back and skips those cells; a file that cannot be read back whole (or belongs
to another cell) is ignored and its cell runs again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from harness.grid.cells import Cell
from harness.grid.work import CellResult
from harness.io import write_text

log = logging.getLogger(__name__)

FORMAT = 1
CELLS = "cells"


class CellStore:
    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / CELLS

    def path(self, cell: Cell) -> Path:
        return self.folder / f"{cell.key}.json"

    def remove_stray_temporaries(self) -> int:
        """Delete the temporary files of writes a killed run did not finish; how many."""
        stray = list(self.folder.glob(".*.tmp")) if self.folder.is_dir() else []
        for path in stray:
            path.unlink(missing_ok=True)
        return len(stray)

    def load(self, cell: Cell) -> CellResult | None:
        """The cell's stored result, or None when it has none that reads back whole."""
        path = self.path(cell)
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT or raw.get("key") != cell.key:
                raise ValueError(f"format {raw.get('format')!r}, key {raw.get('key')!r}")
            return CellResult.from_dict(raw["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s: unreadable cell file, the cell runs again (%s)", path, exc)
            return None

    def save(self, cell: Cell, result: CellResult) -> None:
        record = {
            "format": FORMAT,
            "key": cell.key,
            "cell": {
                "model": cell.model,
                "seed": cell.seed,
                "role": cell.role,
                "attack": cell.attack,
            },
            "spec": cell.spec.to_dict(),
            "result": result.to_dict(),
        }
        write_text(self.path(cell), json.dumps(record, sort_keys=True, indent=1) + "\n")
