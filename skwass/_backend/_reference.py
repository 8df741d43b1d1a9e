"""NumPy reference of the CuPy backend, for tests on every machine.

The same primitives as :mod:`skwass._backend._cupy`, written with plain NumPy
(whole matrices, SciPy's ``logsumexp``), under the same array-namespace
solver (:mod:`skwass._backend._xp_sinkhorn`): the public functions of
``skwass.ot`` run through it exactly as they do on a GPU. Not used on NumPy
input, which goes to the Numba backend; the tests register it for marked
arrays (``tests/conftest.py``).
"""

import sys

import numpy as np
from scipy.special import logsumexp

from skwass._backend import _xp_sinkhorn

name = "reference"
xp = np


def to_host(x):
    return np.asarray(x)


def prepare(C):
    return C


def _lse(z, axis):
    with np.errstate(invalid="ignore"):
        return logsumexp(z, axis=axis)


def lse_rows(C, G, log_b, eps):
    e = eps[:, None, None]
    return -eps[:, None] * _lse(log_b[:, None, :] + (G[:, None, :] - C) / e, axis=2)


def lse_cols(C, F, log_a, eps):
    e = eps[:, None, None]
    return -eps[:, None] * _lse(log_a[:, :, None] + (F[:, :, None] - C) / e, axis=1)


def statistics(C, F, G, log_a, log_b, eps):
    P = plan_matrix(C, F, G, log_a, log_b, eps)
    return (P * C).sum(axis=(1, 2)), P.sum(axis=2), P.sum(axis=1)


def _point_costs(X, Y, metric):
    """Pair-by-pair costs in float64 (differences in the points' dtype)."""
    diff = (X[:, None, :] - Y[None, :, :]).astype(np.float64)
    if metric == "cityblock":
        return np.abs(diff).sum(axis=2)
    sq = (diff * diff).sum(axis=2)
    return np.sqrt(sq) if metric == "euclidean" else sq


def lse_points(X, Y, G, log_b, eps, metric):
    return -eps * _lse(log_b[None, :] + (G[None, :] - _point_costs(X, Y, metric)) / eps, axis=1)


def plan_statistics_points(X, Y, F, G, log_a, log_b, eps, metric):
    C = _point_costs(X, Y, metric)
    P = plan_matrix(C, F, G, log_a, log_b, eps)
    return (P * C).sum(), P.sum(axis=1), P.sum(axis=0)


def relax(P, TP, log_w, eps, omega):
    w = np.exp(log_w)
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.where(np.isinf(log_w), 0.0, np.abs(w * np.exp((P - TP) / eps) - w))
    return (1.0 - omega) * P + omega * TP, err.sum(axis=1)


def pairwise_cost(X, Y, metric):
    return _point_costs(X, Y, metric).astype(X.dtype)


(sinkhorn_stack, sinkhorn_points, sinkhorn_symmetric, sinkhorn_symmetric_points,
 ctransform_rows, plan_statistics, plan_cost_gradient_points, plan_matrix, cost_gradient,
 hamming) = _xp_sinkhorn.operations(sys.modules[__name__])
