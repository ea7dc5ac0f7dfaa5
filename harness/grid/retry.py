"""Which failures of a grid task a retry can change.

A task is seeded and reads the same spec, data and weights each time, so an exception it raises
(a ``HarnessError`` about the user's input, or any other) is raised again: it is reported at
once. Only what comes from outside the task can go differently on a second try: its worker,
process or node lost (Ray reports a killed process as a crashed worker), or memory that ran out
(torch's out-of-memory error, Python's ``MemoryError``, Ray's memory monitor killing the task).
"""

from __future__ import annotations

import sys

from harness.oom import is_oom

# ray.exceptions classes that mean the task's worker, its node or its results were lost
RAY_LOST = (
    "WorkerCrashedError",
    "NodeDiedError",
    "LocalRayletDiedError",
    "OutOfMemoryError",
    "ObjectLostError",
    "OwnerDiedError",
)


def can_change(exc: BaseException) -> bool:
    """Whether running the task that raised ``exc`` again may end differently."""
    cause = getattr(exc, "cause", None) or exc  # a Ray task's own exception, as raised
    return isinstance(cause, MemoryError) or is_oom(cause) or _ray_lost(exc)


def _ray_lost(exc: BaseException) -> bool:
    ray = sys.modules.get("ray")  # imported by the Ray executor: never by this check
    if ray is None:
        return False
    found = (getattr(ray.exceptions, name, None) for name in RAY_LOST)  # some are not in every Ray
    return isinstance(exc, tuple(k for k in found if isinstance(k, type)))
