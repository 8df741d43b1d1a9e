"""Numba backend: the operations of :mod:`skwass._backend` on NumPy arrays.

Each operation calls the jitted kernels of :mod:`skwass._kernels`; metric
names become the kernels' integer codes here and nowhere else.
"""

import functools

import numba
import numpy as np

from skwass._backend import _xp_sinkhorn
from skwass._kernels import _batch, _blocks, _costs, _log_domain, _scaling, _transforms

name = "numpy"
xp = np

# The scaling solver absorbs its scalings into the potentials when they leave
# [1 / tau, tau] (float32 overflows far sooner).
_ABSORPTION_THRESHOLD = {np.dtype(np.float64): 1e30, np.dtype(np.float32): 1e6}

# Below this many cost entries a kernel runs on one thread: the parallel
# region's start-up (microseconds with threads spinning, milliseconds on a
# loaded machine or under joblib workers) costs more than the work it would
# split. A divergence with gradient (2 cores, ms, idle / with 3 busy processes
# beside it): 100 x 100 one thread 6.8 / 17, two 4.5 / 33; 200 x 150 one
# thread 21 / 47, two 11 / 57. The threshold sits between the two.
PARALLEL_MIN_SIZE = 2**14

# A batch gives each problem one thread. From this many cost entries per
# problem one problem fills every thread by itself, and solving the problems
# in turn keeps threads from idling while the hardest one finishes (an eps
# grid, 4 x 1000 x 1000: 63-90 ms batched, 41-70 ms in turn; 8 x 300 x 300:
# batched won, 9-32 ms against 13-38).
BATCH_IN_TURN_MIN_SIZE = 2**18


def _dense_size(C, *args):
    return C.size


def _points_size(X, Y, *args):
    return X.shape[0] * Y.shape[0]


def _serial_when_small(kernel, size):
    """Run ``kernel`` with one Numba thread when ``size(*args)`` is small."""

    @functools.wraps(kernel)
    def call(*args):
        threads = numba.get_num_threads()
        if threads == 1 or size(*args) >= PARALLEL_MIN_SIZE:
            return kernel(*args)
        numba.set_num_threads(1)
        try:
            return kernel(*args)
        finally:
            numba.set_num_threads(threads)

    return call


def _scaling_on_all_threads(*args):
    """:func:`~skwass._kernels._scaling.sinkhorn_scaling` with one row block per thread."""
    return _scaling.sinkhorn_scaling(*args, numba.get_num_threads())


_ctransform_rows = _serial_when_small(_transforms.ctransform_rows, _dense_size)
_ctransform_cols = _serial_when_small(_transforms.ctransform_cols, _dense_size)
_plan_matrix = _serial_when_small(_transforms.plan_matrix, _dense_size)
_plan_statistics = _serial_when_small(_transforms.plan_statistics, _dense_size)
_plan_statistics_points = _serial_when_small(_blocks.plan_statistics_points, _points_size)
_plan_cost_gradient_points = _serial_when_small(_blocks.plan_cost_gradient_points,
                                                _points_size)
_sinkhorn_scaling = _serial_when_small(_scaling_on_all_threads, _dense_size)
_sinkhorn_points = _serial_when_small(_log_domain.sinkhorn_points, _points_size)
_sinkhorn_symmetric = _serial_when_small(_log_domain.sinkhorn_symmetric, _dense_size)
_sinkhorn_symmetric_points = _serial_when_small(
    _log_domain.sinkhorn_symmetric_points, lambda X, *args: X.shape[0] ** 2
)
_pairwise_cost = _serial_when_small(_costs.pairwise_cost, _points_size)
_contract_cost_gradient = _serial_when_small(_blocks.contract_cost_gradient, _dense_size)


def to_host(x):
    """``x`` as a NumPy array (it is one already)."""
    return np.asarray(x)


# ---------------------------------------------------------------------------
# Solvers: one eps stage each (the eps schedule lives in skwass.ot)
# ---------------------------------------------------------------------------


def _single_stage(C, log_a, log_b, eps, F, G, tol, max_iter, statistics):
    """One problem by the scaling solver on all threads, on the weights' support.

    Zero-weight points are left out of the solve; with ``statistics`` they get
    their c-transform values afterwards. Returns ``(n_iter, (cost, col_sums)
    or None)``.
    """
    tau = _ABSORPTION_THRESHOLD[C.dtype]
    rows, cols = np.isfinite(log_a), np.isfinite(log_b)
    if rows.all() and cols.all():
        it, _, done, cost, col_sums = _sinkhorn_scaling(
            C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics
        )
        if statistics and not done:
            F[:] = _ctransform_rows(C, G, log_b, eps)
        return it, (cost, col_sums) if statistics and done else None
    f, g = F[rows], G[cols]
    it, *_ = _sinkhorn_scaling(np.ascontiguousarray(C[np.ix_(rows, cols)]), log_a[rows],
                               log_b[cols], eps, f, g, tol, max_iter, tau, False)
    F[rows], G[cols] = f, g
    if statistics:
        G[~cols] = _ctransform_cols(np.ascontiguousarray(C[np.ix_(rows, ~cols)]), f,
                                    log_a[rows], eps)
        F[:] = _ctransform_rows(np.ascontiguousarray(C[:, cols]), g, log_b[cols], eps)
    return it, None


def _batch_scaling(C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics):
    """:func:`~skwass._kernels._batch.sinkhorn_batch_scaling`, or the same problems
    solved in turn with every thread when they are large."""
    B, n, m = C.shape
    if n * m < BATCH_IN_TURN_MIN_SIZE or numba.get_num_threads() == 1:
        return _batch.sinkhorn_batch_scaling(
            C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics
        )
    n_iter = np.zeros(B, dtype=np.int64)
    errors = np.full(B, np.inf)
    done = np.zeros(B, dtype=bool)
    cost = np.zeros(B)
    col_sums = np.zeros((B, m))
    for k in range(B):
        if not eps[k] > 0:  # nan: no stage for this problem now
            continue
        n_iter[k], errors[k], done[k], cost[k], col_sums[k] = _sinkhorn_scaling(
            C[k], log_a[k], log_b[k], eps[k], F[k], G[k], tol, max_iter, tau, statistics
        )
        if statistics and not done[k]:
            F[k] = _ctransform_rows(C[k], G[k], log_b[k], eps[k])
    return n_iter, errors, done, cost, col_sums


def sinkhorn_stack(C, log_a, log_b, eps, F, G, tol, max_iter, statistics):
    """One eps stage on each problem of the ``(B, n, m)`` cost stack ``C``.

    ``eps`` is ``(B,)``; a problem whose eps is ``nan`` is left alone.
    ``F``, ``G`` (``(B, n)``, ``(B, m)``) are warm starts. Returns
    ``(n_iter (B,), F, G, stats)``. With ``statistics`` (the last stage)
    ``F`` is the exact row c-transform of ``G``, and ``stats`` is
    ``(<P, C> (B,), column sums (B, m))`` of that plan when the solver got them
    for free for every problem, else None.

    One problem runs the scaling solver on all threads; a batch one thread per
    problem (scaling with positive weights, log-domain otherwise).
    """
    if C.shape[0] == 1:
        it, stats = _single_stage(C[0], log_a[0], log_b[0], eps[0], F[0], G[0], tol,
                                  max_iter, statistics)
        stats = None if stats is None else (np.array([stats[0]]), stats[1][None])
        return np.array([it]), F, G, stats
    if np.isfinite(log_a).all() and np.isfinite(log_b).all():
        it, _, done, cost, col_sums = _batch_scaling(
            C, log_a, log_b, eps, F, G, tol, max_iter, _ABSORPTION_THRESHOLD[C.dtype],
            statistics,
        )
        return it, F, G, (cost, col_sums) if statistics and done.all() else None
    it, _ = _batch.sinkhorn_batch(C, log_a, log_b, eps, F, G, tol, max_iter)
    return it, F, G, None


def sinkhorn_points(X, Y, log_a, log_b, eps, F, G, tol, max_iter, metric):
    """One eps stage on one problem with costs computed from the points.

    Memory O(n + m). Returns ``(n_iter, F, G)`` with ``F`` the exact row
    c-transform of ``G``.
    """
    it, _ = _sinkhorn_points(X, Y, log_a, log_b, eps, F, G, tol, max_iter,
                             _costs.METRIC_CODES[metric])
    return it, F, G


def sinkhorn_symmetric(C, log_a, eps, F, tol, max_iter):
    """``OT(a, a)`` on the symmetric ``(n, n)`` cost ``C`` by the averaged update.

    Returns ``(n_iter, F)``.
    """
    it, _ = _sinkhorn_symmetric(C, log_a, eps, F, tol, max_iter)
    return it, F


def sinkhorn_symmetric_points(X, log_a, eps, F, tol, max_iter, metric):
    """:func:`sinkhorn_symmetric` with costs computed from the points ``X``."""
    it, _ = _sinkhorn_symmetric_points(X, log_a, eps, F, tol, max_iter,
                                       _costs.METRIC_CODES[metric])
    return it, F


# ---------------------------------------------------------------------------
# Plan quantities
# ---------------------------------------------------------------------------


def ctransform_rows(C, G, log_b, eps):
    """Row c-transforms ``(B, n)`` of the ``(B, n, m)`` stack ``C``; ``eps`` is ``(B,)``."""
    return np.stack([_ctransform_rows(C[k], G[k], log_b[k], eps[k])
                     for k in range(C.shape[0])])


def plan_statistics(C, F, G, log_a, log_b, eps):
    """``(<P, C> (B,), row sums (B, n), column sums (B, m))`` of the plans of a stack."""
    if C.shape[0] > 1:
        return _batch.plan_statistics_batch(C, F, G, log_a, log_b, eps)
    cost, rows, cols = _plan_statistics(C[0], F[0], G[0], log_a[0], log_b[0], eps[0])
    return np.array([cost]), rows[None], cols[None]


def plan_statistics_points(X, Y, F, G, log_a, log_b, eps, metric):
    """``(<P, C>, row sums, column sums)`` of one plan, costs computed from the points."""
    return _plan_statistics_points(X, Y, F, G, log_a, log_b, eps,
                                   _costs.METRIC_CODES[metric])


def plan_matrix(C, F, G, log_a, log_b, eps):
    """Dense plan ``exp(log_a_i + log_b_j + (F_i + G_j - C_ij) / eps)``, 2-D or stacked."""
    if C.ndim == 2:
        return _plan_matrix(C, F, G, log_a, log_b, eps)
    return np.stack([_plan_matrix(C[k], F[k], G[k], log_a[k], log_b[k], eps[k])
                     for k in range(C.shape[0])])


def plan_cost_gradient_points(X, Y, F, G, log_a, log_b, eps, metric):
    """``sum_j P_ij grad_x c(x_i, y_j)`` for the plan of ``(F, G)``, costs from points."""
    return _plan_cost_gradient_points(X, Y, F, G, log_a, log_b, eps,
                                      _costs.METRIC_CODES[metric])


# ---------------------------------------------------------------------------
# Costs
# ---------------------------------------------------------------------------


def pairwise_cost(X, Y, metric):
    """Dense cost matrix for the built-in point metrics."""
    if metric == "sqeuclidean":
        # One GEMM; clip the small negatives that cancellation leaves.
        sq = (
            np.einsum("ij,ij->i", X, X)[:, None]
            + np.einsum("ij,ij->i", Y, Y)[None, :]
            - 2.0 * (X @ Y.T)
        )
        return np.maximum(sq, 0.0, out=sq)
    return _pairwise_cost(X, Y, _costs.METRIC_CODES[metric])


hamming = _xp_sinkhorn.hamming


def cost_gradient(G, X, Y, metric):
    """``sum_j G_ij * grad_x c(x_i, y_j)`` for the built-in point metrics."""
    if metric == "sqeuclidean":
        return 2.0 * (G.sum(axis=1)[:, None] * X - G @ Y)
    return _contract_cost_gradient(
        np.ascontiguousarray(G, dtype=np.float64), X, Y, _costs.METRIC_CODES[metric]
    )


# ---------------------------------------------------------------------------
# Block-sparse operations (mode="multiscale", CPU only)
# ---------------------------------------------------------------------------

point_ranges = _blocks.point_ranges
transpose_blocks = _blocks.transpose_blocks


def select_blocks(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, eps, log_budget,
                  metric):
    """Kept pairs of clusters ``(ptr, idx)`` and the bound on the dropped mass."""
    return _blocks.select_blocks(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, eps,
                                 log_budget, _costs.METRIC_CODES[metric])


def dropped_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, eps, ptr, idx, metric):
    """The bound on the mass of the pairs of clusters that the list ``(ptr, idx)`` drops."""
    return _blocks.dropped_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, eps, ptr,
                                 idx, _costs.METRIC_CODES[metric])


def ctransform_blocks(X, x_cluster, Y, ranges, G, log_b, eps, metric):
    """Row c-transform over the kept point ranges ``(rptr, lo, hi)`` of each cluster."""
    return _blocks.ctransform_blocks(X, x_cluster, Y, ranges, G, log_b, eps,
                                     _costs.METRIC_CODES[metric])


def sinkhorn_blocks(X, x_cluster, Y, y_cluster, rows, cols, log_a, log_b, eps, F, G, tol,
                    max_iter, metric):
    """:func:`sinkhorn_points` over the kept point ranges: ``rows`` those of ``X``'s
    clusters, ``cols`` those of ``Y``'s. Returns ``(n_iter, marginal_error)``."""
    return _log_domain.sinkhorn_blocks(X, x_cluster, Y, y_cluster, rows, cols, log_a, log_b,
                                       eps, F, G, tol, max_iter, _costs.METRIC_CODES[metric])


def sinkhorn_symmetric_blocks(X, x_cluster, ranges, log_a, eps, F, tol, max_iter, metric):
    """:func:`sinkhorn_symmetric_points` over the kept point ranges: ``(n_iter, error)``."""
    return _log_domain.sinkhorn_symmetric_blocks(X, x_cluster, ranges, log_a, eps, F, tol,
                                                 max_iter, _costs.METRIC_CODES[metric])


def plan_rows_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps, metric):
    """Row sums and ``<P, C>`` of the kept part of the plan."""
    return _blocks.plan_rows_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps,
                                    _costs.METRIC_CODES[metric])


def plan_cost_gradient_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps, metric):
    """``sum_j P_ij grad_x c(x_i, y_j)`` over the kept part of the plan."""
    return _blocks.cost_gradient_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps,
                                        _costs.METRIC_CODES[metric], np.empty((0, 0)))
