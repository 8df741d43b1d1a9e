"""Jitted c-transforms and plan quantities.

Conventions (shared with :mod:`skwass.ot`): potentials ``F``, ``G`` are in cost
units and the plan is ``P_ij = exp(log_a_i + log_b_j + (F_i + G_j - C_ij) / eps)``.
``log_a``/``log_b`` may hold ``-inf`` for zero weights here (no ``fastmath``
flag that assumes finite values). Loops over cost entries use
:func:`~skwass._kernels._math.fast_exp` where LLVM vectorizes them. The kernels
that compute costs from points are in :mod:`skwass._kernels._blocks`.
"""

import numba
import numpy as np

from skwass._kernels import serial_and_parallel
from skwass._kernels._math import fast_exp


# fast_exp pays off where LLVM vectorizes the loop around it; the sums below
# need reassociation for that (no flag assumes finite values: -inf stays
# legal). In branchy scalar loops it was 1.6x slower than libm's exp, so those
# keep np.exp.
@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _sum_exp(shift, row, inv_eps, top):
    """``sum_j exp(shift_j - row_j * inv_eps - top)``."""
    acc = 0.0
    for j in range(row.shape[0]):
        acc += fast_exp(shift[j] - row[j] * inv_eps - top)
    return acc


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def plan_row(row, log_a_i, F_i, log_b, G, inv_eps, cols):
    """Mass and cost of one plan row, its entries added to ``cols``:
    ``P_j = exp(log_a_i + log_b_j + (F_i + G_j - row_j) * inv_eps)``."""
    mass = 0.0
    cost = 0.0
    for j in range(row.shape[0]):
        p = fast_exp(log_a_i + log_b[j] + (F_i + G[j] - row[j]) * inv_eps)
        mass += p
        cost += p * row[j]
        cols[j] += p
    return mass, cost


def _ctransform_rows(C, G, log_b, eps, out):
    """``out_i = -eps * log sum_j exp(log_b_j + (G_j - C_ij) / eps)``."""
    shift = np.empty(G.shape[0], dtype=np.float64)
    for j in range(G.shape[0]):
        shift[j] = log_b[j] + G[j] / eps
    inv_eps = 1.0 / eps
    for i in numba.prange(C.shape[0]):
        top = -np.inf
        for j in range(C.shape[1]):
            z = shift[j] - C[i, j] * inv_eps
            if z > top:
                top = z
        out[i] = -eps * (top + np.log(_sum_exp(shift, C[i], inv_eps, top)))


_ctransform_rows_parallel, ctransform_rows_serial = serial_and_parallel(_ctransform_rows)


@numba.njit(cache=True)
def ctransform_rows(C, G, log_b, eps):
    """``F_i = -eps * log sum_j exp(log_b_j + (G_j - C_ij) / eps)``, rows in parallel."""
    F = np.empty(C.shape[0], dtype=np.float64)
    _ctransform_rows_parallel(C, G, log_b, eps, F)
    return F


_COLUMN_BLOCK = 256


@numba.njit(cache=True, parallel=True)
def ctransform_cols(C, F, log_a, eps):
    """``G_j = -eps * log sum_i exp(log_a_i + (F_i - C_ij) / eps)`` (row-major C)."""
    n, m = C.shape
    G = np.empty(m, dtype=np.float64)
    shift = np.empty(n, dtype=np.float64)
    for i in range(n):
        shift[i] = log_a[i] + F[i] / eps
    inv_eps = 1.0 / eps
    n_blocks = (m + _COLUMN_BLOCK - 1) // _COLUMN_BLOCK
    for block in numba.prange(n_blocks):
        start = block * _COLUMN_BLOCK
        stop = min(m, start + _COLUMN_BLOCK)
        top = np.full(stop - start, -np.inf)
        acc = np.zeros(stop - start)
        for i in range(n):
            for j in range(start, stop):
                z = shift[i] - C[i, j] * inv_eps
                if z > top[j - start]:
                    top[j - start] = z
        for i in range(n):
            for j in range(start, stop):
                acc[j - start] += fast_exp(shift[i] - C[i, j] * inv_eps - top[j - start])
        for j in range(start, stop):
            G[j] = -eps * (top[j - start] + np.log(acc[j - start]))
    return G


@numba.njit(cache=True, parallel=True)
def plan_matrix(C, F, G, log_a, log_b, eps):
    n, m = C.shape
    P = np.empty((n, m), dtype=np.float64)
    for i in numba.prange(n):
        for j in range(m):
            P[i, j] = fast_exp(log_a[i] + log_b[j] + (F[i] + G[j] - C[i, j]) / eps)
    return P


# Row chunks reduced separately (one partial column-sum vector each).
_STAT_CHUNKS = 16


def _plan_statistics(C, F, G, log_a, log_b, eps):
    """Return ``(<P, C>, row sums, column sums)`` of the plan without storing it."""
    n, m = C.shape
    cost = np.zeros(_STAT_CHUNKS)
    rows = np.zeros(n)
    cols = np.zeros((_STAT_CHUNKS, m))
    chunk = (n + _STAT_CHUNKS - 1) // _STAT_CHUNKS
    inv_eps = 1.0 / eps
    for t in numba.prange(_STAT_CHUNKS):
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            rows[i], row_cost = plan_row(C[i], log_a[i], F[i], log_b, G, inv_eps, cols[t])
            cost[t] += row_cost
    return cost.sum(), rows, cols.sum(axis=0)


plan_statistics, plan_statistics_serial = serial_and_parallel(_plan_statistics)


@numba.njit(cache=True)
def ctransform_cols_serial(C, F, log_a, eps, out):
    """Serial :func:`ctransform_cols` into ``out``: a streaming pass over rows."""
    n, m = C.shape
    inv_eps = 1.0 / eps
    top = np.full(m, -np.inf)
    acc = np.zeros(m)
    for i in range(n):
        for j in range(m):
            z = log_a[i] + (F[i] - C[i, j]) * inv_eps
            if z == -np.inf:
                continue
            if z <= top[j]:
                acc[j] += fast_exp(z - top[j])
            else:
                acc[j] = acc[j] * fast_exp(top[j] - z) + 1.0
                top[j] = z
    for j in range(m):
        out[j] = -eps * (top[j] + np.log(acc[j]))
