"""Point-cloud kernels: costs computed on the fly over kept pairs of clusters.

The points of each cloud are sorted by cluster, so cluster ``k`` of ``X`` is the
rows ``x_start[k]:x_start[k + 1]``. A block list in CSR form,
``idx[ptr[k]:ptr[k + 1]]``, holds the clusters of ``Y`` that interact with
cluster ``k``; every other pair is treated as carrying no mass. The column
c-transform is the same call on the transposed block list with the roles of
``X`` and ``Y`` swapped. Online mode (every pair) is the case of one cluster
that keeps every target (:func:`all_pairs`). Conventions as in
:mod:`skwass._kernels._transforms`.
"""

import numba
import numpy as np

from skwass._kernels._costs import CITYBLOCK, EUCLIDEAN
from skwass._kernels._math import fast_exp
from skwass._kernels._transforms import _sum_exp, plan_row

# Targets per block of the online kernels: their costs are computed into a
# small buffer (vectorized over the block, features outermost), then reduced
# with the vectorized exp while they are in L1.
_POINTS_BLOCK = 256


@numba.njit(cache=True)
def _block_costs(X, i, Yt, start, code, out):
    """``out[j] = c(X[i], Y[start + j])`` for the block ``out``; ``Yt`` is ``Y.T`` (d, m).

    The same arithmetic as :func:`~skwass._kernels._costs.pair_cost` (differences
    in the points' dtype, sums in float64), one feature at a time over the block.
    """
    w = out.shape[0]
    out[:] = 0.0
    for k in range(X.shape[1]):
        x = X[i, k]
        y = Yt[k, start:start + w]
        if code == CITYBLOCK:
            for j in range(w):
                out[j] += abs(x - y[j])
        else:
            for j in range(w):
                diff = x - y[j]
                out[j] += diff * diff
    if code == EUCLIDEAN:
        for j in range(w):
            out[j] = np.sqrt(out[j])


@numba.njit(cache=True)
def merge_block(shift, costs, inv_eps, top, acc):
    """Merge one block's ``sum_j exp(shift_j - costs_j * inv_eps)`` into a running
    log-sum-exp ``top + log(acc)``; returns the new ``(top, acc)``.

    The block raises the running maximum before its exponentials are summed; a
    block of zero weights (``shift = -inf``) changes nothing.
    """
    block_top = -np.inf
    for j in range(costs.shape[0]):
        z = shift[j] - costs[j] * inv_eps
        if z > block_top:
            block_top = z
    if block_top == -np.inf:
        return top, acc
    if block_top > top:
        acc *= np.exp(top - block_top)
        top = block_top
    return top, acc + _sum_exp(shift, costs, inv_eps, top)


@numba.njit(cache=True, fastmath={"contract"})
def _plan_block(costs, base, log_b, G, inv_eps, out):
    """``out_j = exp(base + log_b_j + (G_j - costs_j) * inv_eps)`` (vectorized)."""
    for j in range(costs.shape[0]):
        out[j] = fast_exp(base + log_b[j] + (G[j] - costs[j]) * inv_eps)


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _weighted_difference(weights, x, y):
    """``sum_j weights_j * (x - y_j)``."""
    acc = 0.0
    for j in range(y.shape[0]):
        acc += weights[j] * (x - y[j])
    return acc


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _weighted_sign(weights, x, y):
    """``sum_j weights_j * sign(x - y_j)`` (0 for a zero difference)."""
    acc = 0.0
    for j in range(y.shape[0]):
        diff = x - y[j]
        acc += weights[j] * ((diff > 0) - (diff < 0))
    return acc


@numba.njit(cache=True)
def add_block_gradient(out, x, Yt, costs, plan, code):
    """``out += sum_j plan_j * d c(x, y_j) / d x`` for a block of targets ``Yt`` (d, w).

    ``plan`` is overwritten. 0 for the Euclidean gradient at zero distance and
    for the sign of a zero difference.
    """
    if code == EUCLIDEAN:
        for j in range(costs.shape[0]):
            plan[j] = plan[j] / costs[j] if costs[j] > 0.0 else 0.0
    for k in range(x.shape[0]):
        if code == CITYBLOCK:
            out[k] += _weighted_sign(plan, x[k], Yt[k])
        elif code == EUCLIDEAN:
            out[k] += _weighted_difference(plan, x[k], Yt[k])
        else:
            out[k] += 2.0 * _weighted_difference(plan, x[k], Yt[k])


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


@numba.njit(cache=True, parallel=True)
def dropped_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi, y_top, log_B, eps, ptr, idx, code):
    """The sum of the mass bounds (as in :func:`select_blocks`) of the pairs of clusters
    that the block list ``(ptr, idx)`` drops; each row's clusters increasing, as
    :func:`select_blocks` lists them."""
    nx, ny = x_lo.shape[0], y_lo.shape[0]
    inv_eps = 1.0 / eps
    dropped = np.zeros(nx)
    for cx in numba.prange(nx):
        p = ptr[cx]
        for cy in range(ny):
            if p < ptr[cx + 1] and idx[p] == cy:
                p += 1
            else:
                dropped[cx] += np.exp(_log_mass_bound(x_lo, x_hi, x_top, log_A, y_lo, y_hi,
                                                      y_top, log_B, cx, cy, inv_eps, code))
    return dropped.sum()


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
def all_pairs(n, m):
    """The block list of online mode: ``n`` points in one cluster that keeps all
    ``m`` targets, in ranges of ``_POINTS_BLOCK``. Returns ``(cluster, ranges)``."""
    lo = np.arange(0, m, _POINTS_BLOCK)
    hi = np.minimum(lo + _POINTS_BLOCK, m)
    return np.zeros(n, dtype=np.int64), (np.array([0, lo.shape[0]]), lo, hi)


@numba.njit(cache=True)
def _targets(Y, ranges):
    """``Y.T`` (features outermost, for :func:`_block_costs`) and the widest range."""
    _, lo, hi = ranges
    width = 0
    for r in range(lo.shape[0]):
        width = max(width, hi[r] - lo[r])
    return np.ascontiguousarray(Y.T), width


@numba.njit(cache=True, parallel=True)
def ctransform_blocks(X, x_cluster, Y, ranges, G, log_b, eps, code):
    """Row c-transform over the kept blocks: ``F_i = -eps log sum_j b_j exp((G_j - C_ij) / eps)``.

    ``x_cluster[i]`` is the cluster of point ``i`` and ``ranges = (rptr, lo,
    hi)`` its kept runs of targets (:func:`point_ranges`, or :func:`all_pairs`
    for every target). Each cost is computed once: a range's costs go to a
    small buffer, whose log-sum-exp is merged into a running one
    (:func:`merge_block`). A point whose kept blocks hold only zero weights
    gets ``+inf``.
    """
    rptr, lo, hi = ranges
    F = np.empty(X.shape[0], dtype=np.float64)
    shift = np.empty(Y.shape[0], dtype=np.float64)
    for j in range(Y.shape[0]):
        shift[j] = log_b[j] + G[j] / eps
    inv_eps = 1.0 / eps
    Yt, width = _targets(Y, ranges)
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


@numba.njit(cache=True)
def ctransform_points(X, Y, G, log_b, eps, code):
    """:func:`ctransform_blocks` on every pair (online mode, O(n + m) memory)."""
    x_cluster, ranges = all_pairs(X.shape[0], Y.shape[0])
    return ctransform_blocks(X, x_cluster, Y, ranges, G, log_b, eps, code)


@numba.njit(cache=True, parallel=True)
def plan_rows_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps, code):
    """Row sums of the kept part of the plan, and its transport cost ``<P, C>``.

    The column sums are the same call on the transposed block list.
    """
    rptr, lo, hi = ranges
    rows = np.zeros(X.shape[0])
    cost = np.zeros(X.shape[0])
    inv_eps = 1.0 / eps
    Yt, width = _targets(Y, ranges)
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


@numba.njit(cache=True)
def plan_statistics_points(X, Y, F, G, log_a, log_b, eps, code):
    """``(<P, C>, row sums, column sums)`` of the plan of ``(F, G)``, costs from the points.

    :func:`plan_rows_blocks` on every pair, once each way.
    """
    x_cluster, rows_ranges = all_pairs(X.shape[0], Y.shape[0])
    y_cluster, cols_ranges = all_pairs(Y.shape[0], X.shape[0])
    rows, cost = plan_rows_blocks(X, x_cluster, Y, rows_ranges, F, G, log_a, log_b, eps, code)
    cols, _ = plan_rows_blocks(Y, y_cluster, X, cols_ranges, G, F, log_b, log_a, eps, code)
    return cost, rows, cols


@numba.njit(cache=True, parallel=True)
def cost_gradient_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps, code, W):
    """``out_i = sum_j P_ij * d c(x_i, y_j) / d x_i`` over the kept blocks.

    ``P`` is the plan of ``(F, G)``, its entries computed block by block and
    never stored, or the given ``(n, m)`` matrix ``W`` unless that is empty.
    0 for the Euclidean gradient at zero distance and for the sign of a zero
    difference (valid subgradients).
    """
    rptr, lo, hi = ranges
    n, d = X.shape
    out = np.zeros((n, d), dtype=np.float64)
    inv_eps = 1.0 / eps
    Yt, width = _targets(Y, ranges)
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
            if W.shape[0] > 0:
                plan[:] = W[i, start:stop]
            else:
                _plan_block(costs, base, log_b[start:stop], G[start:stop], inv_eps, plan)
            add_block_gradient(out[i], X[i], Yt[:, start:stop], costs, plan, code)
    return out


@numba.njit(cache=True)
def plan_cost_gradient_points(X, Y, F, G, log_a, log_b, eps, code):
    """:func:`cost_gradient_blocks` on every pair (online mode)."""
    x_cluster, ranges = all_pairs(X.shape[0], Y.shape[0])
    return cost_gradient_blocks(X, x_cluster, Y, ranges, F, G, log_a, log_b, eps, code,
                                np.empty((0, 0)))


@numba.njit(cache=True)
def contract_cost_gradient(W, X, Y, code):
    """``out_i = sum_j W_ij * d c(x_i, y_j) / d x_i`` for a dense ``(n, m)`` matrix ``W``:
    :func:`cost_gradient_blocks` on every pair."""
    n, m = X.shape[0], Y.shape[0]
    x_cluster, ranges = all_pairs(n, m)
    return cost_gradient_blocks(X, x_cluster, Y, ranges, np.zeros(n), np.zeros(m),
                                np.zeros(n), np.zeros(m), 1.0, code, W)
