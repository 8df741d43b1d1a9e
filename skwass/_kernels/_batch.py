"""Batches of Sinkhorn problems: one serial solver per problem, problems in prange."""

import numba
import numpy as np

from skwass._kernels._log_domain import sinkhorn_log_serial
from skwass._kernels._scaling import sinkhorn_scaling
from skwass._kernels._transforms import ctransform_rows_serial, plan_statistics_serial


@numba.njit(cache=True, parallel=True)
def sinkhorn_batch(C, log_a, log_b, eps, F, G, tol, max_iter):
    """Solve the ``B`` problems ``C[k]`` (weights ``log_a[k]``, ``log_b[k]``,
    regularization ``eps[k]``) in parallel over ``k``, one thread each.

    ``F`` and ``G`` (``B x n``, ``B x m``) are warm starts, updated in place;
    problems with a ``nan`` eps are skipped. Returns per-problem
    ``(n_iter, marginal_error)`` arrays.
    """
    B = C.shape[0]
    n_iter = np.zeros(B, dtype=np.int64)
    errors = np.empty(B)
    for k in numba.prange(B):
        if not eps[k] > 0:  # nan: no stage for this problem now
            errors[k] = np.inf
            continue
        n_iter[k], errors[k] = sinkhorn_log_serial(
            C[k], log_a[k], log_b[k], eps[k], F[k], G[k], tol, max_iter
        )
    return n_iter, errors


@numba.njit(cache=True, parallel=True)
def sinkhorn_batch_scaling(C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics):
    """Batch twin of :func:`sinkhorn_scaling`: the ``B`` problems ``C[k]`` in
    parallel over ``k``, each by the scaling solver on one thread.

    Weights must be positive. ``F`` and ``G`` (``B x n``, ``B x m``) are warm
    starts, updated in place; problems with a ``nan`` eps are skipped.
    Returns per-problem ``(n_iter, marginal_error, done, cost, col_sums)`` as
    :func:`sinkhorn_scaling` does; with ``statistics``, a problem that is not
    ``done`` gets exact rows (``F = T(G)``) from a log-domain c-transform.
    """
    B, n, m = C.shape
    n_iter = np.zeros(B, dtype=np.int64)
    errors = np.empty(B)
    done = np.zeros(B, dtype=np.bool_)
    cost = np.zeros(B)
    col_sums = np.zeros((B, m))
    for k in numba.prange(B):
        if not eps[k] > 0:  # nan: no stage for this problem now
            errors[k] = np.inf
            continue
        it, err, ok, c, cols = sinkhorn_scaling(
            C[k], log_a[k], log_b[k], eps[k], F[k], G[k], tol, max_iter, tau, statistics, 1
        )
        if statistics and not ok:
            ctransform_rows_serial(C[k], G[k], log_b[k], eps[k], F[k])
        n_iter[k] = it
        errors[k] = err
        done[k] = ok
        cost[k] = c
        col_sums[k] = cols
    return n_iter, errors, done, cost, col_sums


@numba.njit(cache=True, parallel=True)
def plan_statistics_batch(C, F, G, log_a, log_b, eps):
    """Per problem ``(<P, C>, row sums, column sums)``, parallel over problems."""
    B, n, m = C.shape
    cost = np.zeros(B)
    rows = np.zeros((B, n))
    cols = np.zeros((B, m))
    for k in numba.prange(B):
        cost[k], rows[k], cols[k] = plan_statistics_serial(C[k], F[k], G[k], log_a[k],
                                                           log_b[k], eps[k])
    return cost, rows, cols
