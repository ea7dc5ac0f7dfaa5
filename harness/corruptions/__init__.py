"""Common corruptions (Hendrycks & Dietterich, ICLR 2019) as a threat model beside the attacks.

- ``catalog``: the 15 benchmark corruptions by family, the 4 held-out extras, severities 1-5;
- ``backend``: the ``imagecorruptions`` package (optional extra ``corruptions``) behind one call;
- ``scales``: whose severity parameters (CIFAR-10-C's, Tiny-ImageNet-C's, ImageNet-C's), by
  image side, and where the harness departs from Hendrycks & Dietterich's scripts;
- ``tables``, ``layers``, ``script``: the small-image scripts' parameters and functions;
- ``generate``: corrupted test images, seeded per (corruption, severity, image);
- ``store``: corrupted sets generated, cached (8-bit ``.npy``) and read back a chunk at a time;
- ``cifar_c``: the published CIFAR-10-C / CIFAR-100-C files, read instead of generated;
- ``evaluate``: one model's accuracy on each corrupted set, predicted a chunk at a time (the
  analysis ``harness.evaluate`` runs when a spec has a ``corruptions:`` section).

The records and metrics (CE, mCE, relative mCE) live in ``harness.results.corruption``.
"""
