"""Shared test helpers: the staged real data beside the repo, and an isolated cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# /work/shared/data when the repo is /work/main: real datasets, staged read-only.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def requires_shared(name: str) -> Path:
    """Path of ``SHARED_DATA/name``; skip the calling test (or fixture) when it is absent."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not staged: {path} is absent")
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Decoded-dataset caches go to a temporary folder, never into <repo>/data/.cache."""
    path = tmp_path_factory.mktemp("harness-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE", str(path))
        yield path
