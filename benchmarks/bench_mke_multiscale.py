"""Time and peak memory of one full-batch loss evaluation in the multiscale example.

One evaluation of the objective of ``examples/mke/plot_multiscale_fit.py`` (the
Sinkhorn divergence and its gradient between ``n`` data points and ``n`` model
points, eps = 0.0025, ``mode="multiscale"``), each size in its own process so
that each peak resident memory is that size's own. Memory should grow about
linearly in ``n``; the dense solver's two ``n x n`` matrices are printed beside it.

Usage: ``python benchmarks/bench_mke_multiscale.py [n ...]`` (default 4000 8000 16000).
"""

import resource
import subprocess
import sys
import time

import numpy as np


def child(n):
    from skwass.ot import sinkhorn_divergence

    rng = np.random.RandomState(42)
    L = np.array([[1.0, 0.0], [0.5, 0.8]])
    data = rng.uniform(size=(n, 2)) @ L.T + [0.2, -0.1]
    model = rng.uniform(size=(n, 2))
    # Compile the kernels on a small problem first: neither time nor memory counts them.
    sinkhorn_divergence(model[:500], data[:500], eps=0.0025, mode="multiscale",
                        return_grad=True, tol=1e-6)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    sinkhorn_divergence(model, data, eps=0.0025, mode="multiscale", return_grad=True, tol=1e-6)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dense = 2 * n * n * 8 / 2**20
    print(f"{n:>8d} {seconds:9.1f} {base:10.0f} {peak:10.0f} {peak - base:10.1f}"
          f" {dense:12.0f}", flush=True)


def main(sizes):
    print(f"{'n':>8s} {'time (s)':>9s} {'RSS0 MiB':>10s} {'peak MiB':>10s} {'growth':>10s}"
          f" {'dense MiB':>12s}", flush=True)
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--child", str(n)], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        main([int(n) for n in sys.argv[1:]] or [4000, 8000, 16000])
