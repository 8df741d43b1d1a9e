"""Wall-clock timers shared by the benchmark scripts.

The scripts run as ``python benchmarks/<script>.py``, which puts this folder on
``sys.path``, so they import it as ``from _timing import median_time``.
"""

import time

import numpy as np


def timed(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the seconds it took."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def median_time(fn, repeat=5, warmup=False):
    """Median seconds of ``repeat`` calls of ``fn()``, after one untimed call if ``warmup``."""
    if warmup:
        fn()
    return float(np.median([timed(fn)[1] for _ in range(repeat)]))
