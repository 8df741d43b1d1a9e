"""Jitted ground costs between point clouds and their gradients.

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


@numba.njit(cache=True, parallel=True)
def contract_cost_gradient(G, X, Y, code):
    """Return ``out[i] = sum_j G[i, j] * d c(x_i, y_j) / d x_i``.

    The Euclidean gradient at zero distance and the sign of a zero coordinate
    difference are both taken as 0 (a valid subgradient).
    """
    n, d = X.shape
    m = Y.shape[0]
    out = np.zeros((n, d), dtype=np.float64)
    for i in numba.prange(n):
        for j in range(m):
            w = G[i, j]
            if w == 0.0:
                continue
            if code == CITYBLOCK:
                for k in range(d):
                    diff = X[i, k] - Y[j, k]
                    if diff > 0:
                        out[i, k] += w
                    elif diff < 0:
                        out[i, k] -= w
            elif code == EUCLIDEAN:
                dist = 0.0
                for k in range(d):
                    diff = X[i, k] - Y[j, k]
                    dist += diff * diff
                if dist > 0.0:
                    scale = w / np.sqrt(dist)
                    for k in range(d):
                        out[i, k] += scale * (X[i, k] - Y[j, k])
            else:
                for k in range(d):
                    out[i, k] += 2.0 * w * (X[i, k] - Y[j, k])
    return out
