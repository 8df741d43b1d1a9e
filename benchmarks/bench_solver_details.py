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
6. the kernels' vectorizable exp against np.exp (time and accuracy);
7. with ``--relaxation``, only: iterations of the solvers' omega controller
   against a candidate rule with probes (:class:`ProbingRule`) and the best
   fixed omega, cold and warm (potentials of the problem before a 1% move of
   ``X``), from a copy of the solver's loop (its count for the solvers' rule is
   checked against the solver's own).

Run: ``python benchmarks/bench_solver_details.py`` (about a minute), or
``--relaxation`` (a few minutes).
"""

import argparse
import time
import warnings

import numpy as np
from _timing import median_time

import skwass._backend._numpy as numpy_backend
from skwass._kernels import _relaxation
from skwass._kernels._log_domain import sinkhorn_log_serial
from skwass._kernels._transforms import ctransform_cols_serial, ctransform_rows_serial
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


class SolverRule:
    """The solvers' controller (:mod:`skwass._kernels._relaxation`)."""

    def __init__(self):
        self.omega, self.cap, self.err_start = 1.0, _relaxation.OMEGA_MAX, -1.0

    def window(self, it, err):
        self.omega, self.cap, self.err_start = _relaxation.adapt_omega(
            it, err, self.err_start, self.omega, self.cap)

    def overshoot(self):
        self.omega, self.cap, self.err_start = _relaxation.restart_relaxation(self.cap)


class ProbingRule(SolverRule):
    """A candidate, not in the solvers: at or above its optimum the relaxed iteration
    contracts at omega - 1 and Young's relation fed that rate returns omega, so a
    window whose rate is within 0.1 (2 - omega) of omega - 1 is not trusted; it
    probes omega down to 1 + 0.9 (omega - 1) instead, and after a probe that informs
    the next waits 2, 4, 8... windows."""

    def __init__(self):
        super().__init__()
        self.wait, self.spacing, self.probing = 0, 2, False

    def window(self, it, err):
        if it % _relaxation.RATE_WINDOW != 1:
            return
        omega, rate = self.omega, 1.0
        if self.err_start > 0.0:
            rate = (err / self.err_start) ** (1 / _relaxation.RATE_WINDOW)
        if 0.0 < rate < 1.0 and omega > 1.0 and rate - (omega - 1.0) < 0.1 * (2.0 - omega):
            if self.wait > 0:
                self.wait -= 1
            else:
                self.omega, self.probing = 1.0 + 0.9 * (omega - 1.0), True
            self.err_start = err
            return
        super().window(it, err)
        if self.probing and 0.0 < rate < 1.0:
            self.probing, self.wait, self.spacing = False, self.spacing, 2 * self.spacing

    def overshoot(self):
        super().overshoot()
        self.wait, self.probing = 0, False


class FixedOmega:
    def __init__(self, omega):
        self.omega = omega

    def window(self, it, err):
        pass

    def overshoot(self):
        self.omega = 1.0


def relaxed_iterations(C, log_a, log_b, eps, F, G, tol, max_iter, rule):
    """Iterations of :func:`~skwass._kernels._log_domain.sinkhorn_log_serial`'s loop
    under ``rule``, from ``(F, G)``."""
    F, G = F.copy(), G.copy()
    TG, TF = np.empty(C.shape[0]), np.empty(C.shape[1])
    err, it = np.inf, 0
    while it < max_iter:
        ctransform_rows_serial(C, G, log_b, eps, TG)
        if _relaxation.check_plain(it, rule.omega, err, tol):
            ctransform_cols_serial(C, TG, log_a, eps, TF)
            if _relaxation.side_error(G, TF, log_b, eps) <= tol:
                return it
        err = _relaxation.relax_potential(F, TG, log_a, eps, rule.omega)
        ctransform_cols_serial(C, F, log_a, eps, TF)
        err += _relaxation.relax_potential(G, TF, log_b, eps, rule.omega)
        it += 1
        if not err < np.inf:
            ctransform_rows_serial(C, G, log_b, eps, F)
            rule.overshoot()
            continue
        if err <= tol:
            return it
        rule.window(it, err)
    return it


def relaxation_problems(rng):
    """``(name, X, Y, eps)``: clouds of the MKE and multiscale benchmarks, small."""
    L = np.array([[1.0, 0.0], [0.5, 0.8]])
    two = np.concatenate([rng.normal(size=(300, 2)) * 0.1, rng.normal(size=(300, 2)) * 0.1 + 2])
    for eps in (0.0025, 0.01):
        yield "square to parallelogram", rng.random((800, 2)), rng.random((3000, 2)) @ L.T, eps
    for eps in (0.0025, 0.01):
        yield "uniform cube", rng.random((1000, 3)), rng.random((1000, 3)), eps
    for eps in (0.01, 0.05):
        yield "Gaussians", rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) * 0.5 + 1, eps
    for eps in (0.01, 0.05):
        yield "two clusters to one", two, rng.normal(size=(500, 2)), eps


def relaxation(rng, tols=(1e-6, 1e-8)):
    print("7. iterations of the omega controller (dense log-domain solver, cost |x - y|^2 / 2)")
    print(f"   {'problem':<24} {'eps':>6} {'tol':>5} {'start':>5} {'solver':>9} "
          f"{'probes':>7} {'best fixed omega':>17}")
    totals = np.zeros(2)
    for name, X, Y, eps in relaxation_problems(rng):
        C = cost_matrix(X, Y) / 2
        log_a, log_b = np.full(len(X), -np.log(len(X))), np.full(len(Y), -np.log(len(Y)))
        X_before = 0.99 * X - 0.005
        F_warm, G_warm = np.zeros(len(X)), np.zeros(len(Y))
        sinkhorn_log_serial(cost_matrix(X_before, Y) / 2, log_a, log_b, eps, F_warm, G_warm,
                            1e-10, 50_000)
        for tol in tols:
            for start, F, G in (("cold", np.zeros(len(X)), np.zeros(len(Y))),
                                ("warm", F_warm, G_warm)):
                counts = [relaxed_iterations(C, log_a, log_b, eps, F, G, tol, 20_000, rule())
                          for rule in (SolverRule, ProbingRule)]
                solver = sinkhorn_log_serial(C, log_a, log_b, eps, F.copy(), G.copy(), tol,
                                             20_000)[0]
                assert solver == counts[0], (solver, counts[0])
                best = min((relaxed_iterations(C, log_a, log_b, eps, F, G, tol, 3000,
                                               FixedOmega(w)), w)
                           for w in (1.0, 1.3, 1.5, 1.6, 1.7, 1.8, 1.85, 1.9, 1.95))
                totals += counts
                print(f"   {name:<24} {eps:>6g} {tol:>5.0e} {start:>5} {counts[0]:>9} "
                      f"{counts[1]:>7} {best[0]:>10} at {best[1]:<4g}", flush=True)
    print(f"   {'total':<24} {'':>6} {'':>5} {'':>5} {int(totals[0]):>9} {int(totals[1]):>7}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--online-n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--relaxation", action="store_true",
                        help="only part 7: the omega controller against a rule with probes")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.relaxation:
        relaxation(rng)
        return
    sinkhorn(None, None, cost_matrix(rng.random((20, 2)), rng.random((20, 2))), 0.1)
    iterations(rng, args.n)
    warm_start(rng)
    online(rng, args.online_n)
    threads(rng)
    batches(rng)
    exponentials(rng)


if __name__ == "__main__":
    main()
