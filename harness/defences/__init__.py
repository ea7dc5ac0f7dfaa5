"""Registered hardening methods (the Improve phase); see ``harness.defences.base``."""

from harness.defences import preprocessing, purifier, smoothing, spectral, trainers  # noqa: F401
from harness.defences.base import (
    DEFENCES,
    DefenceDef,
    HardenJob,
    defence,
    describe,
    register,
    restore,
    validate,
)

__all__ = [
    "DEFENCES",
    "DefenceDef",
    "HardenJob",
    "defence",
    "describe",
    "register",
    "restore",
    "validate",
]
