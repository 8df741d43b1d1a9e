"""Time and peak memory of the pieces of a full-batch fit in the multiscale example.

``examples/mke/plot_multiscale_fit.py`` fits ``n`` data points with a model
sample of ``min(10,000, n)`` points, eps = 0.0025, ``mode="multiscale"``. Per
size, in its own process (so that each peak resident memory is that size's
own), this prints:

* the data's own problem ``OT(Y, Y)``, solved once per fit, with symmetric
  updates (``sinkhorn_points(Y, None)``) and, beside it, with alternating ones
  (``sinkhorn_points(Y, Y)``, what a fit would pay without the symmetric solve;
  ``--no-alternating`` skips it);
* one evaluation of the objective: the divergence and its gradient given that
  value (two problems: model-data and model-model).

The dense solver's two model-data matrices are printed beside the memory.

Usage: ``python benchmarks/bench_mke_multiscale.py [--no-alternating] [n ...]``
(default 25000 100000).
"""

import resource
import subprocess
import sys

import numpy as np
from _timing import timed

N_MODEL = 10_000
EPS = 0.0025


def child(n, alternating):
    from skwass.ot import sinkhorn_divergence, sinkhorn_points

    rng = np.random.RandomState(42)
    L = np.array([[1.0, 0.0], [0.5, 0.8]])
    data = rng.uniform(size=(n, 2)) @ L.T + [0.2, -0.1]
    model = rng.uniform(size=(min(N_MODEL, n), 2))
    # Compile the kernels on a small problem first: neither time nor memory counts them.
    sinkhorn_divergence(model[:500], data[:500], eps=EPS, mode="multiscale", return_grad=True,
                        tol=1e-6)
    sinkhorn_points(data[:500], None, eps=EPS, mode="multiscale", tol=1e-6)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    options = {"eps": EPS, "mode": "multiscale", "tol": 1e-6}
    own, own_seconds = timed(sinkhorn_points, data, None, **options)
    row = f"{n:>8d} {model.shape[0]:>7d} {own_seconds:9.1f} {int(own.n_iter):>5d}"
    if alternating:
        other, other_seconds = timed(sinkhorn_points, data, data, **options)
        row += f" {other_seconds:9.1f} {int(other.n_iter):>5d}"
    else:
        row += f" {'-':>9s} {'-':>5s}"
    _, seconds = timed(sinkhorn_divergence, model, data, return_grad=True, ot_yy=own.value,
                       **options)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dense = 2 * model.shape[0] * n * 8 / 2**20
    print(row + f" {seconds:10.1f} {peak - base:10.1f} {dense:12.0f}", flush=True)


def main(args):
    alternating = "--no-alternating" not in args
    sizes = [int(n) for n in args if n != "--no-alternating"] or [25_000, 100_000]
    print(f"{'n':>8s} {'model':>7s} {'OT(Y,Y) s':>9s} {'iter':>5s} {'altern. s':>9s} "
          f"{'iter':>5s} {'eval. s':>10s} {'growth MiB':>10s} {'dense MiB':>12s}", flush=True)
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--child", str(n), str(int(alternating))],
                       check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), sys.argv[3] == "1")
    else:
        main(sys.argv[1:])
