"""Common corruptions (Hendrycks & Dietterich, ICLR 2019) as a threat model beside the attacks.

- ``catalog``: the 15 benchmark corruptions by family, the 4 held-out extras, severities 1-5;
- ``backend``: the ``imagecorruptions`` package (optional extra ``corruptions``) behind one call;
- ``generate``: corrupted test sets, seeded per (corruption, severity, image) and cached;
- ``cifar_c``: the published CIFAR-10-C / CIFAR-100-C files, read instead of generated;
- ``evaluate``: one model's accuracy on each corrupted set (the analysis ``harness.evaluate``
  runs when a spec has a ``corruptions:`` section).

The records and metrics (CE, mCE, relative mCE) live in ``harness.results.corruption``.
"""
