"""Solver details behind the numbers in the OT-core notes, printed side by side.

Six small measurements, each against its own baseline in the same process:

1. iterations to L1 1e-6 with the adaptive over-relaxation, against plain
   Sinkhorn (a NumPy loop, the same stopping rule), on uniform clouds in
   [0, 1]^d (n = 1000);
2. warm start on a nearby problem (costs x 1.01) against a cold start;
3. online mode (costs on the fly) iterations against the dense solver;
4. threads: a 200 x 150 divergence with gradient with the one-thread rule
   for small problems on and off, and 15 solves of a 1000 x 1000 problem,
   back to back and interleaved with POT's NumPy-BLAS Sinkhorn;
5. batches: a grid of eps on one cost matrix in one call against a loop;
6. the kernels' vectorizable exp against np.exp (time and accuracy).

Run: ``python benchmarks/bench_solver_details.py`` (about a minute).
"""

import argparse
import time
import warnings

import numpy as np
from _timing import median_time

import skwass._backend._numpy as numpy_backend
from skwass.ot import cost_matrix, sinkhorn, sinkhorn_divergence, sinkhorn_loss, sinkhorn_points


def plain_sinkhorn_iterations(C, eps, tol=1e-6, max_iter=100_000):
    """Iterations of unrelaxed Sinkhorn (uniform weights) to an L1 error of ``tol``."""
    n, m = C.shape
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    K = np.exp(-(C - C.min()) / eps)
    v = np.ones(m)
    for it in range(1, max_iter + 1):
        u = a / (K @ v)
        KTu = u @ K
        if np.abs(v * KTu - b).sum() <= tol:
            return it
        v = b / KTu
    return max_iter


def iterations(rng, n):
    print("1. iterations to L1 1e-6 (uniform clouds in [0, 1]^d, eps relative to the mean cost)")
    print(f"   {'d':>3} {'eps/mean':>8} {'plain':>7} {'skwass':>7}")
    for d, rel in ((64, 0.01), (2, 0.01), (2, 0.1), (64, 0.1)):
        C = cost_matrix(rng.random((n, d)), rng.random((n, d)))
        eps = rel * C.mean()
        ours = sinkhorn(None, None, C, eps, tol=1e-6, eps_scaling=None, max_iter=100_000)
        print(f"   {d:>3} {rel:>8g} {plain_sinkhorn_iterations(C, eps):>7} {ours.n_iter:>7}")


def warm_start(rng):
    X, Y = rng.random((60, 2)), rng.random((50, 2))
    C = cost_matrix(X, Y)
    eps = 0.05 * C.max() / 2
    cold = sinkhorn(None, None, C, eps)
    nearby = sinkhorn(None, None, C * 1.01, eps, init=(cold.f, cold.g))
    fresh = sinkhorn(None, None, C * 1.01, eps)
    print(f"2. warm start (costs x 1.01, tol 1e-9): {nearby.n_iter} iterations warm, "
          f"{fresh.n_iter} cold")


def online(rng, n):
    X, Y = rng.random((n, 3)), rng.random((n, 3))
    eps = 0.01 * cost_matrix(X, Y).mean()
    runs = {mode: sinkhorn_points(X, Y, eps=eps, mode=mode, tol=1e-6, max_iter=100_000)
            for mode in ("online", "dense")}
    print(f"3. n = {n}, d = 3, eps = 0.01 x mean: online {runs['online'].n_iter} iterations "
          f"(L1 {runs['online'].marginal_error:.1e}), dense {runs['dense'].n_iter}")


def threads(rng):
    import ot

    X, Y = rng.random((200, 2)), rng.random((150, 2))
    sinkhorn_divergence(X, Y, eps=0.1, return_grad=True)
    on = median_time(lambda: sinkhorn_divergence(X, Y, eps=0.1, return_grad=True))
    rule = numpy_backend.PARALLEL_MIN_SIZE
    numpy_backend.PARALLEL_MIN_SIZE = 0
    try:
        off = median_time(lambda: sinkhorn_divergence(X, Y, eps=0.1, return_grad=True))
    finally:
        numpy_backend.PARALLEL_MIN_SIZE = rule
    print(f"4a. 200 x 150 divergence + gradient: {on * 1e3:.1f} ms with small problems on one "
          f"Numba thread, {off * 1e3:.1f} ms on all threads")

    n = 1000
    X, Y = rng.standard_normal((n, 64)), rng.standard_normal((n, 64))
    C = cost_matrix(X, Y)
    a = np.full(n, 1 / n)
    eps = 0.1 * C.mean()

    def solves(with_pot):
        times = []
        for _ in range(15):
            start = time.perf_counter()
            sinkhorn(a, a, C, eps, tol=1e-6)
            times.append(time.perf_counter() - start)
            if with_pot:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ot.sinkhorn(a, a, C, eps, stopThr=1e-7)
        return " ".join(f"{t * 1e3:.0f}" for t in times)

    sinkhorn(a, a, C, eps, tol=1e-6)
    print("4b. 1000 x 1000 solves [ms] (the solver's passes are Numba loops, no BLAS):")
    print(f"    back to back:                       {solves(False)}")
    print(f"    each followed by a POT (BLAS) solve: {solves(True)}")

    X, Y = rng.random((200, 3)), rng.random((200, 3))
    P_a = np.full(200, 1 / 200)
    M = ot.dist(X, Y)
    sinkhorn_loss(X, Y, eps=0.1, n_iter=20, return_grad=True)
    with_grad = median_time(lambda: sinkhorn_loss(X, Y, eps=0.1, n_iter=20, return_grad=True))
    value = median_time(lambda: sinkhorn_loss(X, Y, eps=0.1, n_iter=20))
    pot = median_time(lambda: ot.sinkhorn2(P_a, P_a, M, 0.1))
    print(f"4c. 200 x 200, W_L with L = 20: {with_grad * 1e3:.2f} ms with gradient, "
          f"{value * 1e3:.2f} ms value only; POT sinkhorn2 {pot * 1e3:.2f} ms")


def batches(rng):
    """A grid of eps on one cost matrix: one batch call against a loop of single calls."""
    for n, B in [(100, 16), (300, 8), (1000, 4)]:
        X, Y = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) + 1.0
        C = cost_matrix(X, Y)
        eps = np.geomspace(0.5, 0.01, B) * C.mean()
        stack = np.stack([C] * B)
        batch = median_time(lambda s=stack, e=eps: sinkhorn(None, None, s, e, tol=1e-6))
        loop = median_time(
            lambda c=C, grid=eps: [sinkhorn(None, None, c, e, tol=1e-6) for e in grid]
        )
        print(f"5. {B} x ({n} x {n}), eps grid: batch {batch * 1e3:.1f} ms, "
              f"loop of single calls {loop * 1e3:.1f} ms")


def exponentials(rng):
    """The kernels' vectorizable exp against libm's, per 10^6 values."""
    import numba

    from skwass._kernels._math import fast_exp

    @numba.njit
    def fast(x, out):
        for i in range(x.shape[0]):
            out[i] = fast_exp(x[i])

    @numba.njit
    def libm(x, out):
        for i in range(x.shape[0]):
            out[i] = np.exp(x[i])

    x = rng.uniform(-100.0, 0.0, 10**6)
    out = np.empty_like(x)
    fast(x, out), libm(x, out)
    t_fast = min(median_time(lambda: fast(x, out)) for _ in range(3))
    t_libm = min(median_time(lambda: libm(x, out)) for _ in range(3))
    fast(x, out)
    ulps = np.abs(out - np.exp(x)) / np.spacing(np.exp(x))
    print(f"6. exp of 10^6 values: fast_exp {t_fast * 1e3:.2f} ms, np.exp {t_libm * 1e3:.2f} ms "
          f"(one thread); max error {ulps.max():.0f} ulp")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--online-n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sinkhorn(None, None, cost_matrix(rng.random((20, 2)), rng.random((20, 2))), 0.1)
    iterations(rng, args.n)
    warm_start(rng)
    online(rng, args.online_n)
    threads(rng)
    batches(rng)
    exponentials(rng)


if __name__ == "__main__":
    main()
