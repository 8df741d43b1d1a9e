"""Where the time of a dense GPU Sinkhorn solve goes: wall time, stage and plan-statistics
calls per solve, and a cProfile table of one solve.

    python benchmarks/profile_gpu.py                          # asynchronous launches
    CUDA_LAUNCH_BLOCKING=1 python benchmarks/profile_gpu.py   # each kernel's time lands on
                                                              # the call that launched it

Needs CuPy and a GPU. Problems: two Gaussian clouds, squared Euclidean cost built on the
GPU, eps a fraction of the mean cost, tol 1e-6.
"""

import cProfile
import io
import pstats
import time

import cupy
import numpy as np

from skwass._backend import _cupy
from skwass.ot import sinkhorn

calls = {}


def counted(name, fn):
    def wrapped(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return fn(*args, **kwargs)
    return wrapped


# The front-end looks the operations up on the backend module at each call.
for name in ("sinkhorn_stack", "plan_statistics", "ctransform_rows"):
    setattr(_cupy, name, counted(name, getattr(_cupy, name)))

rng = np.random.default_rng(0)
sync = cupy.cuda.Device().synchronize
for n, d, eps_rel in [(10000, 64, 0.1), (10000, 2, 0.1), (10000, 2, 0.01), (2000, 2, 0.1)]:
    X = cupy.asarray(rng.standard_normal((n, d)))
    Y = cupy.asarray(rng.standard_normal((n, d)))
    Y[:, 0] += 1
    C = (X * X).sum(1)[:, None] + (Y * Y).sum(1)[None] - 2 * X @ Y.T
    eps = eps_rel * float(C.mean())
    sinkhorn(None, None, C, eps, tol=1e-6)  # compiles the kernels
    sync()
    calls.clear()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        res = sinkhorn(None, None, C, eps, tol=1e-6)
        sync()
        times.append(time.perf_counter() - start)
    per_solve = {k: v // 3 for k, v in calls.items()}
    print(f"n={n} d={d} eps={eps_rel} x mean: {min(times) * 1e3:.1f} ms (min of 3), "
          f"{res.n_iter} iterations, calls per solve {per_solve}")
    profile = cProfile.Profile()
    profile.enable()
    sinkhorn(None, None, C, eps, tol=1e-6)
    sync()
    profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(18)
    print(out.getvalue())
