"""Where a multiscale solve spends its time, phase by phase.

Solves the problem of ``bench_sinkhorn.py --multiscale`` (uniform clouds in
[0, 1]^3, cost ``|x - y|^2 / 2``, eps = 0.0025, L1 tol 1e-3) once, after a
small warm-up solve for the JIT, and prints the wall and CPU seconds (all
threads) of each phase of :mod:`skwass.ot._multiscale`: the clusters, the
block selection (``select``), the coarse problem, the extension of its
potentials, the Sinkhorn loop on the kept blocks (``iterate``) and the final
plan sums (``statistics``). The coarse problem of a large cloud is itself
solved by multiscale, so its phases are counted inside ``coarse`` and in the
other rows too; ``calls`` says how often each ran. It times whatever phases
the checked-out code has, so an older tree can be profiled the same way.

Run: ``python benchmarks/profile_multiscale.py 25000`` (one or more sizes;
``--dim 2`` for the plane). ``--pairs-only`` counts the pairs of points that one
c-transform visits from the coarse start, without solving:
``python benchmarks/profile_multiscale.py 1000000 --dim 2 --pairs-only``.
"""

import argparse
import time
import warnings

import numpy as np

from skwass.ot import _multiscale, _sinkhorn, cost_matrix, sinkhorn, sinkhorn_points

EPS = 2 * 0.0025  # skwass's "sqeuclidean" is |x - y|^2, twice GeomLoss's p=2 cost
TOL = 1e-3
PHASES = [(_multiscale, "Clusters")] + [
    (_multiscale.BlockProblem, name) for name in ("select", "extend", "iterate", "statistics")]


def timed(owner, name, totals):
    """Wrap ``owner.name`` so that its calls add to ``totals[name]``."""
    original = getattr(owner, name)

    def call(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            entry = totals.setdefault(name, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - wall
            entry[2] += time.process_time() - cpu

    setattr(owner, name, call)


def profile(n, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.uniform(size=(n, d)), rng.uniform(size=(n, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sinkhorn_points(X[:300], Y[:300], eps=EPS, mode="multiscale", tol=TOL)  # JIT
    totals = {}
    coarse = {}
    solve = _sinkhorn.solve_multiscale

    def solve_timed(X, Y, a, b, eps, metric, tol, max_iter, coarse_solver, init=None):
        wrapped = coarse_solver
        if not coarse:  # the outermost solve: time its coarse problem
            def wrapped(*args):
                wall, cpu = time.perf_counter(), time.process_time()
                out = coarse_solver(*args)
                coarse["coarse"] = [1, time.perf_counter() - wall, time.process_time() - cpu]
                return out
            coarse["coarse"] = None
        return solve(X, Y, a, b, eps, metric, tol, max_iter, wrapped, init)

    _sinkhorn.solve_multiscale = solve_timed
    for owner, attr in PHASES:
        if hasattr(owner, attr):
            timed(owner, attr, totals)
    wall, cpu = time.perf_counter(), time.process_time()
    res = sinkhorn_points(X, Y, eps=EPS, mode="multiscale", tol=TOL)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _sinkhorn.solve_multiscale = solve
    print(f"n = {n}: {wall:.1f} s wall, {cpu:.1f} s CPU, {res.n_iter} iterations, "
          f"L1 error {res.marginal_error:.2e}")
    print(f"  {'phase':12s} {'calls':>6s} {'wall [s]':>9s} {'CPU [s]':>9s}")
    for name, entry in {**totals, **coarse}.items():
        if entry is not None:
            print(f"  {name:12s} {entry[0]:6d} {entry[1]:9.2f} {entry[2]:9.2f}")


def kept_pairs(n, d, seed=0):
    """The work of one c-transform without solving: the block list that the coarse
    potentials select, counted in pairs of points."""
    rng = np.random.default_rng(seed)
    X, Y = rng.uniform(size=(n, d)), rng.uniform(size=(n, d))
    w = np.full(n, 1.0 / n)
    problem = _multiscale._problem(X, Y, w, w, EPS, "sqeuclidean", TOL)
    cx, cy = problem.X, problem.Y
    coarse = sinkhorn(cx.weight, cy.weight, cost_matrix(cx.centroid, cy.centroid), EPS,
                      tol=_sinkhorn._COARSE_TOL)
    problem.select(coarse.f[cx.cluster], coarse.g[cy.cluster])
    rptr, lo, hi = problem.row_ranges
    n_cells = len(cx.weight)
    # Targets per cell of X: the lengths of its ranges (a cell may have none).
    per_cell = np.bincount(np.repeat(np.arange(n_cells), np.diff(rptr)), weights=hi - lo,
                           minlength=n_cells)
    pairs = float((per_cell * np.diff(cx.start)).sum())
    print(f"n = {n}, d = {d}: {len(cx.weight)} cells; {pairs / n:.0f} kept pairs per point "
          f"({pairs / n / n:.1%} of the cloud), {pairs:.2e} per c-transform")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[25_000])
    parser.add_argument("--dim", type=int, default=3)
    parser.add_argument("--pairs-only", action="store_true",
                        help="only count the pairs the coarse start keeps (no solve; the "
                             "coarse problem is solved densely, so keep the cells few)")
    args = parser.parse_args()
    for n in args.sizes:
        if args.pairs_only:
            kept_pairs(n, args.dim)
        else:
            profile(n, args.dim)


if __name__ == "__main__":
    main()
