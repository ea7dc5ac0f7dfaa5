"""Random numbers that belong to a sample, not to the batch it sat in.

An attack that draws random numbers per call (ART's, or a loop drawing a batch's random starts at
once) gives a sample a result that depends on how the test set was cut: the chunk size, the batch
size, an out-of-memory halving, the survivors of a nested sweep, a shard. ``SampleKeys`` names
each sample by the run's seed, the attack (its run name and its own ``seed`` parameter) and the
sample's test index; each of its draws comes from its own generator (PCG64), seeded by a hash
(SplitMix64) of that key, the eps and a tag (which draw: a restart, a target). So a sample's draws
are the same whatever else is in its batch, on any device, in any order.

The draws are made on the host with numpy and moved to the model's device by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
TARGET_TAG = 1 << 20  # the draw of a random target class (restarts count from 0)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _text_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _eps_key(eps: float) -> int:
    """The bits of eps as a float64: the same eps is the same key in every sweep."""
    return int(np.array(float(eps), dtype=np.float64).view(np.uint64))


@dataclass(frozen=True)
class SampleKeys:
    """The random identity of each sample of an attack's input, in x's order."""

    stream: int  # the run's seed, the attack's run name and its seed parameter, hashed
    index: np.ndarray  # (N,) int64 test indices

    @classmethod
    def of(cls, run_seed: int, attack: str, attack_seed: int, index: np.ndarray) -> SampleKeys:
        stream = _text_key(f"{int(run_seed)}/{attack}/{int(attack_seed)}")
        return cls(stream, np.asarray(index, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, pos: slice | np.ndarray) -> SampleKeys:
        """The keys of the samples at ``pos`` (a slice, positions or a boolean mask)."""
        return SampleKeys(self.stream, self.index[pos])

    def seeds(self, eps: float, tag: int) -> np.ndarray:
        """(N,) uint64: each sample's seed for draw ``tag`` (a restart, a target) at ``eps``: the
        hash of (stream, eps, tag, test index)."""
        head = _mix(np.array([self.stream ^ _eps_key(eps)], dtype=np.uint64))
        head = _mix(head ^ np.uint64(tag))
        return _mix(head ^ self.index.astype(np.uint64))

    def generators(self, eps: float, tag: int) -> Iterator[np.random.Generator]:
        """One numpy generator (PCG64) per sample, seeded by ``seeds``, in x's order."""
        for seed in self.seeds(eps, tag):
            yield np.random.Generator(np.random.PCG64(int(seed)))

    def integers(self, high: int, tag: int) -> np.ndarray:
        """(N,) int64 uniform in [0, high), one per sample (bias below 2**-40 for high < 2**13)."""
        u = (_mix(self.seeds(0.0, tag)) >> np.uint64(11)) * (1.0 / 2**53)
        return np.minimum((u * high).astype(np.int64), high - 1)


def ball_start(
    keys: SampleKeys, eps: float, norm: str, shape: tuple[int, ...], restart: int
) -> np.ndarray:
    """Offsets drawn uniformly in the eps ball of ``norm`` ("linf" or "l2"), one per sample:
    (N, *shape) float32, restart ``restart`` of each sample's own sequence. L2: a direction
    uniform on the sphere (a normalised Gaussian) at radius eps * u^(1/m), m = pixels."""
    m = int(np.prod(shape))
    out = np.empty((len(keys), m), dtype=np.float64)
    for row, g in zip(out, keys.generators(eps, restart), strict=True):
        if norm == "linf":
            row[:] = (2.0 * g.random(m) - 1.0) * eps
        else:
            d = g.standard_normal(m)
            row[:] = d * (eps * g.random() ** (1.0 / m) / max(float(np.linalg.norm(d)), 1e-12))
    return out.reshape(len(keys), *shape).astype(np.float32)
