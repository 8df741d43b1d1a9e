"""Jitted Sinkhorn iterations.

Conventions (shared with :mod:`skwass.ot`): potentials ``F``, ``G`` are in cost
units and the plan is ``P_ij = exp(log_a_i + log_b_j + (F_i + G_j - C_ij) / eps)``.
``log_a``/``log_b`` may hold ``-inf`` for zero weights in the c-transform and
plan kernels (no ``fastmath`` flag that assumes finite values there); the scaling
solver needs positive weights.
Loops over cost entries use :func:`~skwass._kernels._math.fast_exp` where LLVM
vectorizes them (online mode computes costs block by block for that).
"""

import numba
import numpy as np

from skwass._kernels._costs import CITYBLOCK, EUCLIDEAN
from skwass._kernels._math import fast_exp

# ---------------------------------------------------------------------------
# c-transforms (log-sum-exp), dense and on the fly
# ---------------------------------------------------------------------------


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
def _sum_exp_log(log_b, G, row, inv_eps, top):
    """``sum_j exp(log_b_j + (G_j - row_j) * inv_eps - top)``."""
    acc = 0.0
    for j in range(row.shape[0]):
        acc += fast_exp(log_b[j] + (G[j] - row[j]) * inv_eps - top)
    return acc


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _plan_row(row, log_a_i, F_i, log_b, G, inv_eps, cols):
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


@numba.njit(cache=True, parallel=True)
def ctransform_rows(C, G, log_b, eps):
    """``F_i = -eps * log sum_j exp(log_b_j + (G_j - C_ij) / eps)``."""
    n, m = C.shape
    F = np.empty(n, dtype=np.float64)
    shift = np.empty(m, dtype=np.float64)
    for j in range(m):
        shift[j] = log_b[j] + G[j] / eps
    inv_eps = 1.0 / eps
    for i in numba.prange(n):
        top = -np.inf
        for j in range(m):
            z = shift[j] - C[i, j] * inv_eps
            if z > top:
                top = z
        F[i] = -eps * (top + np.log(_sum_exp(shift, C[i], inv_eps, top)))
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


# Targets per block of the online kernels: their costs are computed into a
# small buffer (vectorized over the block, features outermost), then reduced
# with the vectorized exp while they are in L1.
_ONLINE_BLOCK = 256


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


@numba.njit(cache=True, parallel=True)
def ctransform_online(X, Y, G, log_b, eps, code):
    """Row c-transform with costs computed on the fly from points (O(n+m) memory).

    Each cost is computed once: targets are taken in blocks of
    ``_ONLINE_BLOCK``, whose log-sum-exp is merged into a running one (a block
    raises the running maximum before its exponentials are summed). The
    column c-transform is the same call with the roles of X and Y swapped.
    """
    n, m = X.shape[0], Y.shape[0]
    F = np.empty(n, dtype=np.float64)
    shift = np.empty(m, dtype=np.float64)
    for j in range(m):
        shift[j] = log_b[j] + G[j] / eps
    inv_eps = 1.0 / eps
    Yt = np.ascontiguousarray(Y.T)
    for i in numba.prange(n):
        buffer = np.empty(_ONLINE_BLOCK, dtype=np.float64)
        top = -np.inf
        acc = 0.0
        for start in range(0, m, _ONLINE_BLOCK):
            stop = min(m, start + _ONLINE_BLOCK)
            costs = buffer[:stop - start]
            _block_costs(X, i, Yt, start, code, costs)
            block_top = -np.inf
            for j in range(stop - start):
                z = shift[start + j] - costs[j] * inv_eps
                if z > block_top:
                    block_top = z
            if block_top == -np.inf:
                continue  # only zero weights in this block
            if block_top > top:
                acc *= np.exp(top - block_top)
                top = block_top
            acc += _sum_exp(shift[start:stop], costs, inv_eps, top)
        F[i] = -eps * (top + np.log(acc))
    return F


# ---------------------------------------------------------------------------
# Quantities of a plan given its potentials
# ---------------------------------------------------------------------------


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


@numba.njit(cache=True, parallel=True)
def plan_statistics(C, F, G, log_a, log_b, eps):
    """Return ``(<P, C>, row sums, column sums)`` of the plan without storing it."""
    n, m = C.shape
    n_chunks = _STAT_CHUNKS
    cost = np.zeros(n_chunks)
    rows = np.zeros(n)
    cols = np.zeros((n_chunks, m))
    chunk = (n + n_chunks - 1) // n_chunks
    inv_eps = 1.0 / eps
    for t in numba.prange(n_chunks):
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            rows[i], row_cost = _plan_row(C[i], log_a[i], F[i], log_b, G, inv_eps, cols[t])
            cost[t] += row_cost
    return cost.sum(), rows, cols.sum(axis=0)


@numba.njit(cache=True, parallel=True)
def plan_statistics_online(X, Y, F, G, log_a, log_b, eps, code):
    """Online twin of :func:`plan_statistics`: costs computed from the points."""
    n, m = X.shape[0], Y.shape[0]
    n_chunks = _STAT_CHUNKS
    cost = np.zeros(n_chunks)
    rows = np.zeros(n)
    cols = np.zeros((n_chunks, m))
    chunk = (n + n_chunks - 1) // n_chunks
    inv_eps = 1.0 / eps
    Yt = np.ascontiguousarray(Y.T)
    for t in numba.prange(n_chunks):
        buffer = np.empty(_ONLINE_BLOCK, dtype=np.float64)
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            for start in range(0, m, _ONLINE_BLOCK):
                stop = min(m, start + _ONLINE_BLOCK)
                costs = buffer[:stop - start]
                _block_costs(X, i, Yt, start, code, costs)
                mass, block_cost = _plan_row(costs, log_a[i], F[i], log_b[start:stop],
                                             G[start:stop], inv_eps, cols[t, start:stop])
                rows[i] += mass
                cost[t] += block_cost
    return cost.sum(), rows, cols.sum(axis=0)


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


@numba.njit(cache=True, parallel=True)
def plan_cost_gradient_online(X, Y, F, G, log_a, log_b, eps, code):
    """``out_i = sum_j P_ij * d c(x_i, y_j) / d x_i`` for the plan of ``(F, G)``.

    The online twin of :func:`~skwass._kernels._costs.contract_cost_gradient`
    applied to the plan: costs and plan entries are computed block by block and
    never stored. Same conventions (0 for the Euclidean gradient at zero distance
    and for the sign of a zero difference).
    """
    n, d = X.shape
    m = Y.shape[0]
    out = np.zeros((n, d), dtype=np.float64)
    inv_eps = 1.0 / eps
    Yt = np.ascontiguousarray(Y.T)
    for i in numba.prange(n):
        if log_a[i] == -np.inf:
            continue
        base = log_a[i] + F[i] * inv_eps
        cost_buffer = np.empty(_ONLINE_BLOCK, dtype=np.float64)
        plan_buffer = np.empty(_ONLINE_BLOCK, dtype=np.float64)
        for start in range(0, m, _ONLINE_BLOCK):
            stop = min(m, start + _ONLINE_BLOCK)
            costs = cost_buffer[:stop - start]
            plan = plan_buffer[:stop - start]
            _block_costs(X, i, Yt, start, code, costs)
            _plan_block(costs, base, log_b[start:stop], G[start:stop], inv_eps, plan)
            if code == EUCLIDEAN:
                for j in range(stop - start):
                    plan[j] = plan[j] / costs[j] if costs[j] > 0.0 else 0.0
            for k in range(d):
                y = Yt[k, start:stop]
                if code == CITYBLOCK:
                    out[i, k] += _weighted_sign(plan, X[i, k], y)
                elif code == EUCLIDEAN:
                    out[i, k] += _weighted_difference(plan, X[i, k], y)
                else:
                    out[i, k] += 2.0 * _weighted_difference(plan, X[i, k], y)
    return out


# ---------------------------------------------------------------------------
# Solvers: one eps stage each; the eps-scaling loop lives in skwass.ot
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _absorbed_rows(C, F, G, log_a, log_b, eps, K, start, stop):
    for i in range(start, stop):
        for j in range(C.shape[1]):
            K[i, j] = fast_exp(log_a[i] + log_b[j] + (F[i] + G[j] - C[i, j]) / eps)


@numba.njit(cache=True, parallel=True)
def _absorbed_kernel_parallel(C, F, G, log_a, log_b, eps, K):
    n = C.shape[0]
    for i in numba.prange(n):
        _absorbed_rows(C, F, G, log_a, log_b, eps, K, i, i + 1)


@numba.njit(cache=True)
def _absorbed_kernel(C, F, G, log_a, log_b, eps, K, serial):
    """``K = exp(log_a + log_b + (F + G - C) / eps)``, on one thread with ``serial``."""
    if serial:
        _absorbed_rows(C, F, G, log_a, log_b, eps, K, 0, C.shape[0])
    else:
        _absorbed_kernel_parallel(C, F, G, log_a, log_b, eps, K)


# Over-relaxation (Thibault et al. 2017), adapted every _RATE_WINDOW iterations:
# the error's contraction rate lam under the current omega gives the plain rate
# mu2 = (lam + omega - 1)**2 / (lam * omega**2) (Young's SOR relation), hence the
# optimum 2 / (1 + sqrt(1 - mu2)). Omega grows by at most _OMEGA_STEP per
# window (far from the fixed point large omegas diverge); when the error more
# than doubles over a window omega is halved towards 1 and capped below.
_RATE_WINDOW = 10
_OMEGA_STEP = 0.3
_LINEAR_REGIME = 1e-2
_OMEGA_MAX = 1.99
# A window that contracts while omega sits at its cap raises the cap by this
# much (up to _OMEGA_MAX): an overshoot lowers the cap by 0.05, and without a
# way back a transient early on pinned omega far below its optimum (a 50 x 50
# problem whose mass must cross a gap took 54,020 iterations, 2,780 with this).
_CAP_RECOVERY = 0.01


@numba.njit(cache=True)
def _relaxed(old, new, omega):
    """``old**(1 - omega) * new**omega``, written with one power."""
    if omega == 1.0:
        return new
    return old * (new / old) ** omega


@numba.njit(cache=True)
def _next_omega(omega, cap, rate, err):
    """Return ``(omega, cap)`` after a window whose error contracted by ``rate``.

    Near the fixed point (L1 error below ``_LINEAR_REGIME``) the iteration is
    linear and omega may jump to its estimated optimum at once.
    """
    if rate**_RATE_WINDOW > 2.0:
        return 1.0 + 0.5 * (omega - 1.0), max(1.0, omega - 0.05)
    if rate >= 1.0 or rate <= 0.0:
        return omega, cap
    if omega >= cap:
        cap = min(_OMEGA_MAX, cap + _CAP_RECOVERY)
    plain_rate = min((rate + omega - 1.0) ** 2 / (rate * omega**2), 1.0 - 1e-12)
    optimum = 2.0 / (1.0 + np.sqrt(1.0 - plain_rate))
    step = _OMEGA_STEP if err > _LINEAR_REGIME else 1.0
    return min(optimum, omega + step, cap), cap


@numba.njit(cache=True)
def _restart_relaxation(cap):
    """``(omega, cap, err_start)`` after an overshoot: plain steps, a lower cap."""
    return 1.0, 1.0 + 0.5 * (cap - 1.0), -1.0


@numba.njit(cache=True)
def _adapt_omega(it, err, err_start, omega, cap):
    """Window bookkeeping shared by the solvers: ``(omega, cap, err_start)``.

    Every ``_RATE_WINDOW`` iterations the contraction over the window updates
    omega (:func:`_next_omega`) and the window restarts at the current error.
    """
    if it % _RATE_WINDOW == 1:
        if err_start > 0.0:
            omega, cap = _next_omega(omega, cap, (err / err_start) ** (1.0 / _RATE_WINDOW), err)
        err_start = err
    return omega, cap, err_start


@numba.njit(cache=True)
def _relax_potential(P, TP, log_w, eps, omega):
    """``P <- (1 - omega) P + omega TP`` in place, for log-domain Sinkhorn.

    ``TP`` is the c-transform of the other potential; returns the L1 error of
    this side's marginal before the step, ``sum_i |w_i exp((P_i - TP_i) / eps) - w_i|``
    (zero-weight points, ``log_w = -inf``, contribute nothing).
    """
    err = _side_error(P, TP, log_w, eps)
    for i in range(P.shape[0]):
        P[i] = (1.0 - omega) * P[i] + omega * TP[i]
    return err


@numba.njit(cache=True)
def _side_error(P, TP, log_w, eps):
    """L1 error ``sum_i |w_i exp((P_i - TP_i) / eps) - w_i|`` of one marginal."""
    err = 0.0
    for i in range(P.shape[0]):
        if log_w[i] > -np.inf:
            w = np.exp(log_w[i])
            err += abs(w * np.exp((P[i] - TP[i]) / eps) - w)
    return err


# While over-relaxed, the solvers also measure, every window and once within
# this factor of tol, the plan they would return (rows exact): relaxed steps
# can keep their own error estimate well above that plan's. Checking every
# iteration cost the dense solver 50% more per iteration at n = 1000.
_PLAIN_CHECK_RANGE = 1000.0


@numba.njit(cache=True)
def _check_plain(it, omega, err, tol):
    return omega != 1.0 and it % _RATE_WINDOW == 0 and err <= _PLAIN_CHECK_RANGE * tol


@numba.njit(cache=True)
def _weighted_cost_row(C, K, u, v, i):
    acc = 0.0
    for j in range(C.shape[1]):
        acc += K[i, j] * C[i, j] * v[j]
    return u[i] * acc


@numba.njit(cache=True, parallel=True)
def _weighted_cost_parallel(C, K, u, v):
    n = C.shape[0]
    partial = np.zeros(n)
    for i in numba.prange(n):
        partial[i] = _weighted_cost_row(C, K, u, v, i)
    return partial.sum()


@numba.njit(cache=True)
def _weighted_cost(C, K, u, v, serial):
    """``sum_ij u_i K_ij C_ij v_j``: the transport cost of ``diag(u) K diag(v)``."""
    if not serial:
        return _weighted_cost_parallel(C, K, u, v)
    total = 0.0
    for i in range(C.shape[0]):
        total += _weighted_cost_row(C, K, u, v, i)
    return total


# Reassociation lets LLVM vectorize the reductions; no flag assumes finite values.
@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _dot(x, y):
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j] * y[j]
    return acc


# Rows are processed in blocks of 8: one sweep over v for eight dot products
# and one read-modify-write of the column sums for eight rows. Measured on one
# core, this pass ran 1.2x (n = 1000) to 1.9x (n = 4000) faster than the two
# BLAS matrix-vector products it replaces.
_ROW_BLOCK = 8


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _dots8(K, i, v, out):
    """``out[r] = K[i + r] @ v`` for ``r < 8``."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    for j in range(K.shape[1]):
        vj = v[j]
        a0 += K[i, j] * vj
        a1 += K[i + 1, j] * vj
        a2 += K[i + 2, j] * vj
        a3 += K[i + 3, j] * vj
        a4 += K[i + 4, j] * vj
        a5 += K[i + 5, j] * vj
        a6 += K[i + 6, j] * vj
        a7 += K[i + 7, j] * vj
    out[0], out[1], out[2], out[3] = a0, a1, a2, a3
    out[4], out[5], out[6], out[7] = a4, a5, a6, a7


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _add_rows8(out, K, i, scale):
    """``out += scale[:8] @ K[i:i + 8]``."""
    s0, s1, s2, s3 = scale[0], scale[1], scale[2], scale[3]
    s4, s5, s6, s7 = scale[4], scale[5], scale[6], scale[7]
    for j in range(K.shape[1]):
        out[j] += (s0 * K[i, j] + s1 * K[i + 1, j] + s2 * K[i + 2, j] + s3 * K[i + 3, j]) + (
            s4 * K[i + 4, j] + s5 * K[i + 5, j] + s6 * K[i + 6, j] + s7 * K[i + 7, j]
        )


@numba.njit(cache=True, fastmath={"contract"})
def _add_rows(out, K, i, scale, width):
    """``out += scale[:width] @ K[i:i + width]``."""
    if width == _ROW_BLOCK:
        _add_rows8(out, K, i, scale)
        return
    for r in range(width):
        s = scale[r]
        for j in range(K.shape[1]):
            out[j] += s * K[i + r, j]


@numba.njit(cache=True)
def _row_chunk(K, v, a, u, omega, KTu, u_plain, KTu_plain, start, stop):
    """Rows ``start:stop`` of :func:`_row_pass`, on one thread, into ``KTu`` (m,).

    Returns ``(row_error, ok)`` for these rows.
    """
    track_plain = u_plain.shape[0] > 0
    KTu[:] = 0.0
    if track_plain:
        KTu_plain[:] = 0.0
    Kv = np.empty(_ROW_BLOCK)
    scale = np.empty(_ROW_BLOCK)
    plain_scale = np.empty(_ROW_BLOCK)
    err = 0.0
    ok = True
    i = start
    while i < stop:
        width = min(_ROW_BLOCK, stop - i)
        if width == _ROW_BLOCK:
            _dots8(K, i, v, Kv)
        else:
            for r in range(width):
                Kv[r] = _dot(K[i + r], v)
        for r in range(width):
            if Kv[r] > 0 and Kv[r] < np.inf:
                plain = a[i + r] / Kv[r]
                u[i + r] = _relaxed(u[i + r], plain, omega)
                err += abs(u[i + r] * Kv[r] - a[i + r])
                scale[r] = u[i + r]
                plain_scale[r] = plain
                if track_plain:
                    u_plain[i + r] = plain
            else:
                ok = False
                scale[r] = 0.0
                plain_scale[r] = 0.0
        _add_rows(KTu, K, i, scale, width)
        if track_plain:
            _add_rows(KTu_plain, K, i, plain_scale, width)
        i += width
    return err, ok


@numba.njit(cache=True, parallel=True)
def _row_pass_parallel(K, v, a, u, omega, KTu, u_plain, KTu_plain):
    n = K.shape[0]
    n_chunks = KTu.shape[0]
    chunk = (n + n_chunks - 1) // n_chunks
    errors = np.zeros(n_chunks)
    bad = np.zeros(n_chunks, dtype=np.bool_)
    for t in numba.prange(n_chunks):
        errors[t], ok = _row_chunk(
            K, v, a, u, omega, KTu[t], u_plain, KTu_plain[t], t * chunk, min(n, (t + 1) * chunk)
        )
        bad[t] = not ok
    return errors.sum(), not bad.any()


@numba.njit(cache=True)
def _row_pass(K, v, a, u, omega, KTu, u_plain, KTu_plain):
    """One pass over ``K``: the row update of ``u`` and the products ``K^T u``.

    Rows are split into ``KTu.shape[0]`` contiguous chunks, one per thread
    (no parallel region for one chunk), and walked in blocks of eight. For
    each block, ``K v`` gives the plain updates ``a_i / (K v)_i`` and the
    relaxed ones stored in ``u``; while the rows are still in cache they are
    added, scaled by the new ``u``, to the chunk's partial column sums
    ``KTu[t]``. With ``u_plain.size`` the plain update and its column sums
    ``KTu_plain`` are kept too. Returns ``(row_error, ok)``: the L1 row error
    of ``diag(u) K diag(v)`` and whether every ``(K v)_i`` was positive and
    finite.
    """
    if KTu.shape[0] > 1:
        return _row_pass_parallel(K, v, a, u, omega, KTu, u_plain, KTu_plain)
    return _row_chunk(K, v, a, u, omega, KTu[0], u_plain, KTu_plain[0], 0, K.shape[0])


@numba.njit(cache=True)
def _column_range(KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain, start, stop):
    """Columns ``start:stop`` of :func:`_column_pass`: ``(error, n_bad, plain_error)``."""
    n_chunks = KTu.shape[0]
    track_plain = KTu_plain.shape[1] > 0
    err = 0.0
    plain_err = 0.0
    n_bad = 0
    for j in range(start, stop):
        total = 0.0
        for t in range(n_chunks):
            total += KTu[t, j]
        col_sums[j] = v[j] * total
        err += abs(col_sums[j] - b[j])
        if total > 0 and total < np.inf:
            v_next[j] = _relaxed(v[j], b[j] / total, omega)
        else:
            v_next[j] = v[j]
            n_bad += 1
        if track_plain:
            plain = 0.0
            for t in range(n_chunks):
                plain += KTu_plain[t, j]
            col_sums_plain[j] = v[j] * plain
            plain_err += abs(col_sums_plain[j] - b[j])
    return err, n_bad, plain_err


@numba.njit(cache=True, parallel=True)
def _column_pass_parallel(KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain):
    m = v.shape[0]
    n_blocks = KTu.shape[0]
    block = (m + n_blocks - 1) // n_blocks
    errors = np.zeros(n_blocks)
    plain_errors = np.zeros(n_blocks)
    n_bad = np.zeros(n_blocks, dtype=np.int64)
    for t in numba.prange(n_blocks):
        errors[t], n_bad[t], plain_errors[t] = _column_range(
            KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain,
            t * block, min(m, (t + 1) * block),
        )
    return errors.sum(), n_bad.sum(), plain_errors.sum()


@numba.njit(cache=True)
def _column_pass(KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain):
    """Sum the partial ``K^T u`` and update ``v`` into ``v_next``.

    ``col_sums`` receives the column sums of ``diag(u) K diag(v)`` before the
    update, and ``col_sums_plain`` those of the plan with the plain row update
    when ``KTu_plain`` holds its partial sums. Returns ``(column_error, ok,
    plain_error)``: the L1 column errors of both plans (``inf`` for the
    second when it is not tracked) and whether every ``(K^T u)_j`` was
    positive and finite. One column block per row chunk of ``KTu``.
    """
    if KTu.shape[0] > 1:
        err, n_bad, plain_err = _column_pass_parallel(
            KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain
        )
    else:
        err, n_bad, plain_err = _column_range(
            KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain, 0, v.shape[0]
        )
    return err, n_bad == 0, plain_err if KTu_plain.shape[1] > 0 else np.inf


@numba.njit(cache=True)
def _outside(x, tau):
    for i in range(x.shape[0]):
        if x[i] > tau or x[i] < 1.0 / tau:
            return True
    return False


@numba.njit(cache=True)
def sinkhorn_scaling(C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics, n_chunks):
    """Stabilized, over-relaxed Sinkhorn with absorption at one ``eps``.

    Iterates on scalings ``u, v`` of the absorbed kernel
    ``K = exp(log_a + log_b + (F + G - C) / eps)`` (Schmitzer 2019) with one
    pass over ``K`` per iteration: each row gives ``(K v)_i`` and, while in
    cache, its share of ``K^T u`` (:func:`_row_pass`). Whenever a scaling
    leaves ``[1/tau, tau]`` it is absorbed into the potentials and ``K`` is
    rebuilt. A row or column of ``K`` that underflows triggers exact
    log-domain c-transforms instead. Updates are over-relaxed with an omega
    adapted to the measured contraction rate. All weights must be positive;
    ``F`` and ``G`` are updated in place. ``n_chunks`` row blocks share the
    work of each pass (one per Numba thread); with one, no parallel region
    is opened, so the solver can run inside a ``prange`` (batches).

    With ``statistics`` the loop also watches, now and then
    (:func:`_check_plain`), the plan this function returns, the one with a
    plain (unrelaxed) row update, whose rows are exact; it stops as soon as
    that plan or the current scalings are within ``tol`` (relaxed steps can
    keep the latter's error well above the former's), and the plan's
    ``<P, C>`` and column sums come out without any ``exp``.

    Returns ``(n_iter, marginal_error, done, cost, col_sums)``: the error is the
    loop's last estimate; ``done`` says whether ``F`` is the exact row
    c-transform of ``G`` and ``cost``/``col_sums`` describe that plan
    (otherwise they are zeros).
    """
    n, m = C.shape
    dt = C.dtype
    a = np.exp(log_a).astype(dt)
    b = np.exp(log_b).astype(dt)
    n_chunks = max(1, min(n_chunks, n))
    serial = n_chunks == 1
    K = np.empty((n, m), dtype=dt)
    _absorbed_kernel(C, F, G, log_a, log_b, eps, K, serial)
    KTu = np.empty((n_chunks, m), dtype=dt)
    KTu_plain = np.empty((n_chunks, m), dtype=dt)
    no_plain = np.empty((n_chunks, 0), dtype=dt)
    u_plain = np.empty(n, dtype=dt)
    no_u_plain = np.empty(0, dtype=dt)
    col_sums = np.zeros(m)
    col_sums_plain = np.zeros(m)
    u = np.ones(n, dtype=dt)
    v = np.ones(m, dtype=dt)
    v_next = np.ones(m, dtype=dt)
    omega = 1.0
    cap = _OMEGA_MAX
    err_start = -1.0
    err = np.inf
    done = False
    it = 0
    while it < max_iter:
        track = statistics and _check_plain(it, omega, err, tol)
        row_err, ok = _row_pass(
            K, v, a, u, omega, KTu, u_plain if track else no_u_plain,
            KTu_plain if track else no_plain,
        )
        plain_err = np.inf
        if ok:
            col_err, ok, plain_err = _column_pass(
                KTu, v, b, omega, v_next, col_sums, KTu_plain if track else no_plain,
                col_sums_plain,
            )
            err = row_err + col_err
        it += 1
        if not ok or not err < np.inf:
            # Underflow or overflow: absorb what is finite, then redo the
            # iteration exactly in the log domain, without relaxation.
            for j in range(m):
                if v[j] > 0 and v[j] < np.inf:
                    G[j] += eps * np.log(v[j])
            if serial:
                _ctransform_rows_serial(C, G, log_b, eps, F)
                _ctransform_cols_serial(C, F, log_a, eps, G)
            else:
                F[:] = ctransform_rows(C, G, log_b, eps)
                G[:] = ctransform_cols(C, F, log_a, eps)
            _absorbed_kernel(C, F, G, log_a, log_b, eps, K, serial)
            u[:] = 1.0
            v[:] = 1.0
            omega, cap, err_start = _restart_relaxation(cap)
            err = np.inf
            continue
        # Return the plan of this row update with v before its update when it
        # is within tol: rows exact (plain update), column sums just summed.
        if plain_err <= tol:
            u[:] = u_plain
            col_sums[:] = col_sums_plain
            err = plain_err
            done = True
            break
        if statistics and omega == 1.0 and err <= tol:
            done = True
            break
        v, v_next = v_next, v
        if err <= tol:
            break
        omega, cap, err_start = _adapt_omega(it, err, err_start, omega, cap)
        if _outside(u, tau) or _outside(v, tau):
            for i in range(n):
                F[i] += eps * np.log(u[i])
                u[i] = 1.0
            for j in range(m):
                G[j] += eps * np.log(v[j])
                v[j] = 1.0
            _absorbed_kernel(C, F, G, log_a, log_b, eps, K, serial)
    if statistics and not done:
        # Out of iterations: one plain row update, then its column sums.
        _, done = _row_pass(K, v, a, u, 1.0, KTu, no_u_plain, no_plain)
        if done:
            _column_pass(KTu, v, b, 1.0, v_next, col_sums, no_plain, col_sums_plain)
    cost = _weighted_cost(C, K, u, v, serial) if done else 0.0
    if not done:
        col_sums[:] = 0.0
    for i in range(n):
        F[i] += eps * np.log(u[i])
    for j in range(m):
        G[j] += eps * np.log(v[j])
    return it, err, done, cost, col_sums


@numba.njit(cache=True)
def sinkhorn_online(X, Y, log_a, log_b, eps, F, G, tol, max_iter, code):
    """Over-relaxed log-domain Sinkhorn at one ``eps`` with costs computed on the fly.

    Alternates c-transforms ``F <- (1 - w) F + w T(G)``, ``G <- (1 - w) G + w T(F)``
    (the log-domain form of over-relaxed scalings, omega adapted as in
    :func:`sinkhorn_scaling`); memory is O(n + m). The marginals of the plan
    ``(F, G)`` before each update are read off the c-transforms for free:
    row sums are ``a_i exp((F_i - T(G)_i) / eps)`` and column sums
    ``b_j exp((G_j - T(F)_j) / eps)``. While relaxed it also checks the plan
    ``(T(G), G)`` that it returns now and then (:func:`_check_plain`).
    Returns ``(n_iter, marginal_error)``; ``F`` and ``G`` are updated in place
    and ``F`` ends as the exact ``T(G)``.
    """
    omega = 1.0
    cap = _OMEGA_MAX
    err_start = -1.0
    err = np.inf
    it = 0
    while it < max_iter:
        TG = ctransform_online(X, Y, G, log_b, eps, code)
        if _check_plain(it, omega, err, tol):
            plain_err = _side_error(G, ctransform_online(Y, X, TG, log_a, eps, code), log_b, eps)
            if plain_err <= tol:
                F[:] = TG
                return it, plain_err
        err = _relax_potential(F, TG, log_a, eps, omega)
        err += _relax_potential(G, ctransform_online(Y, X, F, log_a, eps, code), log_b, eps, omega)
        it += 1
        if not err < np.inf:
            # A relaxed step overshot: restart from exact c-transforms, plainly.
            F[:] = ctransform_online(X, Y, G, log_b, eps, code)
            omega, cap, err_start = _restart_relaxation(cap)
            continue
        if err <= tol:
            break
        omega, cap, err_start = _adapt_omega(it, err, err_start, omega, cap)
    F[:] = ctransform_online(X, Y, G, log_b, eps, code)
    return it, err


@numba.njit(cache=True)
def sinkhorn_symmetric(C, log_a, eps, F, tol, max_iter):
    """Symmetric Sinkhorn for ``OT(a, a)`` (Feydy et al. 2019): ``F <- (F + T F) / 2``.

    ``T`` is the row c-transform with ``G = F``. Plain alternating Sinkhorn
    stalls on self-transport when ``eps`` is small against the distances
    between points (the plan is nearly diagonal, every mode of the iteration
    has a rate near 1); the averaged update converges in a few steps there.
    Row sums of the current plan are ``a_i exp((F_i - (T F)_i) / eps)``, so the
    L1 error costs nothing extra. Returns ``(n_iter, marginal_error)``.
    """
    err = np.inf
    it = 0
    while it < max_iter:
        err = _average_step(F, ctransform_rows(C, F, log_a, eps), log_a, eps)
        it += 1
        if err <= tol:
            break
    return it, err


@numba.njit(cache=True)
def _average_step(F, TF, log_a, eps):
    """``F <- (F + TF) / 2``; returns the L1 error of the plan before the step.

    Its row sums are ``a_i exp((F_i - (T F)_i) / eps)``, column sums the same
    (the plan is symmetric), hence the factor 2.
    """
    err = 0.0
    for i in range(F.shape[0]):
        a_i = np.exp(log_a[i])
        err += 2.0 * abs(a_i * np.exp((F[i] - TF[i]) / eps) - a_i)
        F[i] = 0.5 * (F[i] + TF[i])
    return err


@numba.njit(cache=True)
def sinkhorn_symmetric_online(X, log_a, eps, F, tol, max_iter, code):
    """:func:`sinkhorn_symmetric` with costs computed on the fly from the points ``X``."""
    err = np.inf
    it = 0
    while it < max_iter:
        err = _average_step(F, ctransform_online(X, X, F, log_a, eps, code), log_a, eps)
        it += 1
        if err <= tol:
            break
    return it, err


# ---------------------------------------------------------------------------
# Batches: one serial solver per problem, problems in prange
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _ctransform_rows_serial(C, G, log_b, eps, out):
    """Serial :func:`ctransform_rows` into ``out`` (for use inside a prange)."""
    n, m = C.shape
    inv_eps = 1.0 / eps
    for i in range(n):
        top = -np.inf
        for j in range(m):
            z = log_b[j] + (G[j] - C[i, j]) * inv_eps
            if z > top:
                top = z
        out[i] = -eps * (top + np.log(_sum_exp_log(log_b, G, C[i], inv_eps, top)))


@numba.njit(cache=True)
def _ctransform_cols_serial(C, F, log_a, eps, out):
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


@numba.njit(cache=True)
def _sinkhorn_log_serial(C, log_a, log_b, eps, F, G, tol, max_iter):
    """Over-relaxed log-domain Sinkhorn on one dense problem, on one thread.

    The dense twin of :func:`sinkhorn_online` (same updates, same free error
    read-off, same adaptive omega); zero weights (``-inf`` logs) are allowed.
    Returns ``(n_iter, marginal_error)``; ``F`` ends as the exact ``T(G)``.
    """
    n, m = C.shape
    TG = np.empty(n)
    TF = np.empty(m)
    omega = 1.0
    cap = _OMEGA_MAX
    err_start = -1.0
    err = np.inf
    it = 0
    while it < max_iter:
        _ctransform_rows_serial(C, G, log_b, eps, TG)
        if _check_plain(it, omega, err, tol):
            _ctransform_cols_serial(C, TG, log_a, eps, TF)
            plain_err = _side_error(G, TF, log_b, eps)
            if plain_err <= tol:
                F[:] = TG
                return it, plain_err
        err = _relax_potential(F, TG, log_a, eps, omega)
        _ctransform_cols_serial(C, F, log_a, eps, TF)
        err += _relax_potential(G, TF, log_b, eps, omega)
        it += 1
        if not err < np.inf:
            _ctransform_rows_serial(C, G, log_b, eps, F)
            omega, cap, err_start = _restart_relaxation(cap)
            continue
        if err <= tol:
            break
        omega, cap, err_start = _adapt_omega(it, err, err_start, omega, cap)
    _ctransform_rows_serial(C, G, log_b, eps, F)
    return it, err


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
        n_iter[k], errors[k] = _sinkhorn_log_serial(
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
            _ctransform_rows_serial(C[k], G[k], log_b[k], eps[k], F[k])
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
        inv_eps = 1.0 / eps[k]
        for i in range(n):
            rows[k, i], row_cost = _plan_row(
                C[k, i], log_a[k, i], F[k, i], log_b[k], G[k], inv_eps, cols[k]
            )
            cost[k] += row_cost
    return cost, rows, cols
