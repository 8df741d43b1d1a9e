"""Block-sparse c-transforms: costs computed on the fly over kept pairs of clusters.

The points of each cloud are sorted by cluster, so cluster ``k`` of ``X`` is the
rows ``x_start[k]:x_start[k + 1]``. A block list in CSR form,
``idx[ptr[k]:ptr[k + 1]]``, holds the clusters of ``Y`` that interact with
cluster ``k``; every other pair is treated as carrying no mass. The column
c-transform is the same call on the transposed block list with the roles of
``X`` and ``Y`` swapped. Conventions as in :mod:`skwass._kernels._transforms`.
"""

import numba
import numpy as np

from skwass._kernels._costs import CITYBLOCK, EUCLIDEAN
from skwass._kernels._transforms import (
    _block_costs,
    _plan_block,
    add_block_gradient,
    merge_block,
    plan_row,
)


@numba.njit(cache=True)
def box_cost(lo1, hi1, lo2, hi2, code):
    """Smallest cost between two axis-aligned boxes (0 when they overlap)."""
    acc = 0.0
    for k in range(lo1.shape[0]):
        gap = max(lo2[k] - hi1[k], lo1[k] - hi2[k], 0.0)
        acc += gap if code == CITYBLOCK else gap * gap
    return np.sqrt(acc) if code == EUCLIDEAN else acc


@numba.njit(cache=True, inline="always")
def _log_mass_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, cx, cy, inv_eps, code):
    return log_A[cx] + log_B[cy] + (
        x_top[cx] + y_top[cy] - box_cost(x_lo[cx], x_hi[cx], y_lo[cy], y_hi[cy], code)
    ) * inv_eps


# Bounds are binned this finely (in log units) to choose the cut; the bins span
# _N_BINS * _BIN below the budget, the last one takes everything lower.
_BIN = 0.25
_N_BINS = 160


@numba.njit(cache=True, parallel=True)
def select_blocks(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, eps, log_budget, code):
    """Drop the pairs of clusters with the smallest mass bounds, together below ``exp(log_budget)``.

    ``x_top[k]`` bounds the potential on cluster ``k`` of ``X`` from above, so
    every entry ``a_i b_j exp((f_i + g_j - C_ij) / eps)`` of the pair of clusters
    ``(k, l)`` is at most ``a_i b_j exp((x_top_k + y_top_l - box_cost_kl) / eps)``,
    and the pair's mass at most ``A_k B_l`` times that exponential. A histogram
    of the bounds gives the cut. Returns ``(ptr, idx, dropped)``: the kept pairs
    in CSR form and the sum of the bounds of the dropped pairs, which bounds
    the mass they carry.
    """
    nx, ny = x_lo.shape[0], y_lo.shape[0]
    inv_eps = 1.0 / eps
    hist = np.zeros((nx, _N_BINS))
    for cx in numba.prange(nx):
        for cy in range(ny):
            bound = _log_mass_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, cx, cy,
                                    inv_eps, code)
            if bound <= log_budget:
                k = min(int((log_budget - bound) / _BIN), _N_BINS - 1)
                hist[cx, k] += np.exp(bound)
    mass = hist.sum(axis=0)
    total = 0.0
    cut_bin = _N_BINS
    for k in range(_N_BINS - 1, 0, -1):
        if total + mass[k] > np.exp(log_budget):
            break
        total += mass[k]
        cut_bin = k
    log_cut = log_budget - cut_bin * _BIN
    counts = np.zeros(nx + 1, dtype=np.int64)
    dropped = np.zeros(nx)
    for cx in numba.prange(nx):
        for cy in range(ny):
            bound = _log_mass_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, cx, cy,
                                    inv_eps, code)
            if bound > log_cut:
                counts[cx + 1] += 1
            else:
                dropped[cx] += np.exp(bound)
    ptr = np.cumsum(counts)
    idx = np.empty(ptr[nx], dtype=np.int64)
    for cx in numba.prange(nx):
        p = ptr[cx]
        for cy in range(ny):
            if _log_mass_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, cx, cy,
                               inv_eps, code) > log_cut:
                idx[p] = cy
                p += 1
    return ptr, idx, dropped.sum()


@numba.njit(cache=True)
def transpose_blocks(ptr, idx, n_targets):
    """The CSR block list of the transposed pairs."""
    counts = np.zeros(n_targets + 1, dtype=np.int64)
    for p in range(idx.shape[0]):
        counts[idx[p] + 1] += 1
    ptr_t = np.cumsum(counts)
    fill = ptr_t[:-1].copy()
    idx_t = np.empty(idx.shape[0], dtype=np.int64)
    for cx in range(ptr.shape[0] - 1):
        for p in range(ptr[cx], ptr[cx + 1]):
            cy = idx[p]
            idx_t[fill[cy]] = cx
            fill[cy] += 1
    return ptr_t, idx_t


@numba.njit(cache=True)
def point_ranges(ptr, idx, start):
    """Merge the kept clusters of each row of the block list into runs of points.

    Clusters ``l`` and ``l + 1`` are adjacent in the sorted points, so a run of
    consecutive kept clusters is one range ``lo:hi``: fewer, longer blocks for
    the kernels. Returns ``(rptr, lo, hi)`` in CSR form.
    """
    n_rows = ptr.shape[0] - 1
    rptr = np.zeros(n_rows + 1, dtype=np.int64)
    lo = np.empty(idx.shape[0], dtype=np.int64)
    hi = np.empty(idx.shape[0], dtype=np.int64)
    r = 0
    for cx in range(n_rows):
        for p in range(ptr[cx], ptr[cx + 1]):
            cy = idx[p]
            if p > ptr[cx] and idx[p - 1] == cy - 1:
                hi[r - 1] = start[cy + 1]
            else:
                lo[r] = start[cy]
                hi[r] = start[cy + 1]
                r += 1
        rptr[cx + 1] = r
    return rptr, lo[:r].copy(), hi[:r].copy()


@numba.njit(cache=True)
def _widest(lo, hi):
    size = 0
    for r in range(lo.shape[0]):
        size = max(size, hi[r] - lo[r])
    return size


@numba.njit(cache=True, parallel=True)
def ctransform_blocks(X, x_cluster, Y, rptr, lo, hi, G, log_b, eps, code):
    """Row c-transform over the kept blocks: ``F_i = -eps log sum_j b_j exp((G_j - C_ij) / eps)``.

    ``x_cluster[i]`` is the cluster of point ``i``. Each kept cluster of ``Y``
    is one block whose log-sum-exp is merged into a running one, as in
    :func:`~skwass._kernels._transforms.ctransform_points`. A point whose kept
    blocks hold only zero weights gets ``+inf``.
    """
    F = np.empty(X.shape[0], dtype=np.float64)
    shift = np.empty(Y.shape[0], dtype=np.float64)
    for j in range(Y.shape[0]):
        shift[j] = log_b[j] + G[j] / eps
    inv_eps = 1.0 / eps
    Yt = np.ascontiguousarray(Y.T)
    width = _widest(lo, hi)
    for i in numba.prange(X.shape[0]):
        cx = x_cluster[i]
        buffer = np.empty(width, dtype=np.float64)
        top = -np.inf
        acc = 0.0
        for r in range(rptr[cx], rptr[cx + 1]):
            start, stop = lo[r], hi[r]
            costs = buffer[:stop - start]
            _block_costs(X, i, Yt, start, code, costs)
            top, acc = merge_block(shift[start:stop], costs, inv_eps, top, acc)
        F[i] = -eps * (top + np.log(acc)) if acc > 0.0 else np.inf
    return F


@numba.njit(cache=True, parallel=True)
def plan_rows_blocks(X, x_cluster, Y, rptr, lo, hi, F, G, log_a, log_b, eps, code):
    """Row sums of the kept part of the plan, and its transport cost ``<P, C>``.

    The column sums are the same call on the transposed block list.
    """
    rows = np.zeros(X.shape[0])
    cost = np.zeros(X.shape[0])
    inv_eps = 1.0 / eps
    Yt = np.ascontiguousarray(Y.T)
    width = _widest(lo, hi)
    for i in numba.prange(X.shape[0]):
        cx = x_cluster[i]
        buffer = np.empty(width, dtype=np.float64)
        scratch = np.empty(width, dtype=np.float64)
        for r in range(rptr[cx], rptr[cx + 1]):
            start, stop = lo[r], hi[r]
            costs = buffer[:stop - start]
            _block_costs(X, i, Yt, start, code, costs)
            mass, block_cost = plan_row(costs, log_a[i], F[i], log_b[start:stop],
                                        G[start:stop], inv_eps, scratch[:stop - start])
            rows[i] += mass
            cost[i] += block_cost
    return rows, cost.sum()


@numba.njit(cache=True, parallel=True)
def cost_gradient_blocks(X, x_cluster, Y, rptr, lo, hi, F, G, log_a, log_b, eps, code):
    """``out_i = sum_j P_ij * d c(x_i, y_j) / d x_i`` over the kept blocks.

    The arithmetic and conventions of
    :func:`~skwass._kernels._transforms.plan_cost_gradient_points`.
    """
    n, d = X.shape
    out = np.zeros((n, d), dtype=np.float64)
    inv_eps = 1.0 / eps
    Yt = np.ascontiguousarray(Y.T)
    width = _widest(lo, hi)
    for i in numba.prange(n):
        if log_a[i] == -np.inf:
            continue
        cx = x_cluster[i]
        base = log_a[i] + F[i] * inv_eps
        cost_buffer = np.empty(width, dtype=np.float64)
        plan_buffer = np.empty(width, dtype=np.float64)
        for r in range(rptr[cx], rptr[cx + 1]):
            start, stop = lo[r], hi[r]
            costs = cost_buffer[:stop - start]
            plan = plan_buffer[:stop - start]
            _block_costs(X, i, Yt, start, code, costs)
            _plan_block(costs, base, log_b[start:stop], G[start:stop], inv_eps, plan)
            add_block_gradient(out[i], X[i], Yt[:, start:stop], costs, plan, code)
    return out
