"""Jitted ground costs between point clouds (their gradients: :mod:`skwass._kernels._blocks`).

Metric codes shared by every kernel that computes costs on the fly:
0 = squared Euclidean, 1 = Euclidean, 2 = cityblock.
"""

import numba
import numpy as np

SQEUCLIDEAN, EUCLIDEAN, CITYBLOCK = 0, 1, 2
METRIC_CODES = {"sqeuclidean": SQEUCLIDEAN, "euclidean": EUCLIDEAN, "cityblock": CITYBLOCK}


@numba.njit(cache=True, inline="always")
def pair_cost(X, i, Y, j, code):
    """Cost between row ``i`` of ``X`` and row ``j`` of ``Y``."""
    acc = 0.0
    if code == CITYBLOCK:
        for k in range(X.shape[1]):
            acc += abs(X[i, k] - Y[j, k])
        return acc
    for k in range(X.shape[1]):
        diff = X[i, k] - Y[j, k]
        acc += diff * diff
    if code == EUCLIDEAN:
        return np.sqrt(acc)
    return acc


@numba.njit(cache=True, parallel=True)
def pairwise_cost(X, Y, code):
    """Dense ``(n, m)`` cost matrix computed pair by pair (exact, no cancellation)."""
    n, m = X.shape[0], Y.shape[0]
    C = np.empty((n, m), dtype=X.dtype)
    for i in numba.prange(n):
        for j in range(m):
            C[i, j] = pair_cost(X, i, Y, j, code)
    return C
