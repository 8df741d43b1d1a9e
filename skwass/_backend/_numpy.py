"""NumPy backend: routes array-level operations to the Numba kernels."""

import numpy as np

from skwass._kernels import _costs, _sinkhorn

name = "numpy"
METRIC_CODES = _costs.METRIC_CODES

ctransform_rows = _sinkhorn.ctransform_rows
ctransform_cols = _sinkhorn.ctransform_cols
ctransform_online = _sinkhorn.ctransform_online
plan_matrix = _sinkhorn.plan_matrix
plan_statistics = _sinkhorn.plan_statistics
plan_statistics_online = _sinkhorn.plan_statistics_online
sinkhorn_scaling = _sinkhorn.sinkhorn_scaling
sinkhorn_online = _sinkhorn.sinkhorn_online
sinkhorn_symmetric = _sinkhorn.sinkhorn_symmetric


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
    return _costs.pairwise_cost(X, Y, METRIC_CODES[metric])


def hamming(X, Y):
    """Number of differing coordinates between binary rows, with one GEMM."""
    ones_x = X.sum(axis=1)
    ones_y = Y.sum(axis=1)
    return ones_x[:, None] + ones_y[None, :] - 2.0 * (X @ Y.T)


def cost_gradient(G, X, Y, metric):
    """``sum_j G_ij * grad_x c(x_i, y_j)`` for the built-in point metrics."""
    if metric == "sqeuclidean":
        return 2.0 * (G.sum(axis=1)[:, None] * X - G @ Y)
    return _costs.contract_cost_gradient(
        np.ascontiguousarray(G, dtype=np.float64), X, Y, METRIC_CODES[metric]
    )
