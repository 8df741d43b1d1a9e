"""NumPy backend: routes array-level operations to the Numba kernels."""

import functools

import numba
import numpy as np

from skwass._kernels import _batch, _costs, _log_domain, _scaling, _transforms

name = "numpy"
xp = np
METRIC_CODES = _costs.METRIC_CODES

# Below this many cost entries a kernel runs on one thread: the parallel
# region's start-up (microseconds with threads spinning, milliseconds on a
# loaded machine or under joblib workers) costs more than the work it would
# split. A divergence with gradient (2 cores, ms, idle / with 3 busy processes
# beside it): 100 x 100 one thread 6.8 / 17, two 4.5 / 33; 200 x 150 one
# thread 21 / 47, two 11 / 57. The threshold sits between the two.
PARALLEL_MIN_SIZE = 2**14


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


ctransform_rows = _serial_when_small(_transforms.ctransform_rows, _dense_size)
ctransform_cols = _serial_when_small(_transforms.ctransform_cols, _dense_size)
ctransform_online = _serial_when_small(_transforms.ctransform_online, _points_size)
plan_matrix = _serial_when_small(_transforms.plan_matrix, _dense_size)
plan_statistics = _serial_when_small(_transforms.plan_statistics, _dense_size)
plan_statistics_online = _serial_when_small(_transforms.plan_statistics_online, _points_size)


def _scaling_on_all_threads(*args):
    """:func:`~skwass._kernels._scaling.sinkhorn_scaling` with one row block per thread."""
    return _scaling.sinkhorn_scaling(*args, numba.get_num_threads())


sinkhorn_scaling = _serial_when_small(_scaling_on_all_threads, _dense_size)
sinkhorn_online = _serial_when_small(_log_domain.sinkhorn_online, _points_size)
sinkhorn_symmetric = _serial_when_small(_log_domain.sinkhorn_symmetric, _dense_size)
sinkhorn_symmetric_online = _serial_when_small(
    _log_domain.sinkhorn_symmetric_online, lambda X, *args: X.shape[0] ** 2
)
plan_cost_gradient_online = _serial_when_small(_transforms.plan_cost_gradient_online,
                                               _points_size)
# Batches parallelize over problems, each solved on one thread.
sinkhorn_batch = _batch.sinkhorn_batch

# A batch gives each problem one thread. From this many cost entries per
# problem one problem fills every thread by itself, and solving the problems
# in turn keeps threads from idling while the hardest one finishes (an eps
# grid, 4 x 1000 x 1000: 63-90 ms batched, 41-70 ms in turn; 8 x 300 x 300:
# batched won, 9-32 ms against 13-38).
BATCH_IN_TURN_MIN_SIZE = 2**18


def sinkhorn_batch_scaling(C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics):
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
        n_iter[k], errors[k], done[k], cost[k], col_sums[k] = sinkhorn_scaling(
            C[k], log_a[k], log_b[k], eps[k], F[k], G[k], tol, max_iter, tau, statistics
        )
        if statistics and not done[k]:
            F[k] = ctransform_rows(C[k], G[k], log_b[k], eps[k])
    return n_iter, errors, done, cost, col_sums

plan_statistics_batch = _batch.plan_statistics_batch

_pairwise_cost = _serial_when_small(_costs.pairwise_cost, _points_size)
_contract_cost_gradient = _serial_when_small(_costs.contract_cost_gradient, _dense_size)


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
    return _pairwise_cost(X, Y, METRIC_CODES[metric])


def hamming(X, Y):
    """Number of differing coordinates between binary rows, with one GEMM."""
    ones_x = X.sum(axis=1)
    ones_y = Y.sum(axis=1)
    return ones_x[:, None] + ones_y[None, :] - 2.0 * (X @ Y.T)


def cost_gradient(G, X, Y, metric):
    """``sum_j G_ij * grad_x c(x_i, y_j)`` for the built-in point metrics."""
    if metric == "sqeuclidean":
        return 2.0 * (G.sum(axis=1)[:, None] * X - G @ Y)
    return _contract_cost_gradient(
        np.ascontiguousarray(G, dtype=np.float64), X, Y, METRIC_CODES[metric]
    )
