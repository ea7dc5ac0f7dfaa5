"""How a pass over a test set is cut: chunks of whole batches, about ``CHUNK_BYTES`` of float32
input each, read from the dataset only when their turn comes (the sweep, the clean pass and the
corruption sweep cut the same way). Pure, no torch."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

# float32 input per chunk: 64 MiB is 5,461 CIFAR-sized images or 111 at 224 px (then one batch
# multiple); MNIST's 10,000 test images and every shipped spec's PGD test set fit in one.
CHUNK_BYTES = 64 * 2**20


def chunk_size(sample_shape: Sequence[int], *batch_sizes: int) -> int:
    """Samples per chunk: a multiple of every batch size, about ``CHUNK_BYTES`` of float32."""
    unit = math.lcm(*batch_sizes)
    per_unit = 4 * math.prod(sample_shape) * unit  # bytes of one unit of samples
    return unit * max(1, CHUNK_BYTES // per_unit)


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of ``range(n)``, ``size`` long (the last shorter); one empty slice
    when n is 0, so a sweep over nothing still returns arrays of the right shape."""
    yield from (slice(i, min(i + size, n)) for i in range(0, max(n, 1), size))
