"""Jitted Sinkhorn iterations.

Conventions (shared with :mod:`skwass.ot`): potentials ``F``, ``G`` are in cost
units and the plan is ``P_ij = exp(log_a_i + log_b_j + (F_i + G_j - C_ij) / eps)``.
``log_a``/``log_b`` may hold ``-inf`` for zero weights in the c-transform and
plan kernels (no ``fastmath`` there); the scaling solver needs positive weights.
"""

import numba
import numpy as np

from skwass._kernels._costs import pair_cost

# ---------------------------------------------------------------------------
# c-transforms (log-sum-exp), dense and on the fly
# ---------------------------------------------------------------------------


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
        acc = 0.0
        for j in range(m):
            acc += np.exp(shift[j] - C[i, j] * inv_eps - top)
        F[i] = -eps * (top + np.log(acc))
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
                acc[j - start] += np.exp(shift[i] - C[i, j] * inv_eps - top[j - start])
        for j in range(start, stop):
            G[j] = -eps * (top[j - start] + np.log(acc[j - start]))
    return G


@numba.njit(cache=True, parallel=True)
def ctransform_online(X, Y, G, log_b, eps, code):
    """Row c-transform with costs computed on the fly from points (O(n+m) memory).

    Uses a one-pass streaming log-sum-exp so each cost is computed once.
    The column c-transform is the same call with the roles of X and Y swapped.
    """
    n, m = X.shape[0], Y.shape[0]
    F = np.empty(n, dtype=np.float64)
    shift = np.empty(m, dtype=np.float64)
    for j in range(m):
        shift[j] = log_b[j] + G[j] / eps
    inv_eps = 1.0 / eps
    for i in numba.prange(n):
        top = -np.inf
        acc = 0.0
        for j in range(m):
            z = shift[j] - pair_cost(X, i, Y, j, code) * inv_eps
            if z == -np.inf:
                continue
            if z <= top:
                acc += np.exp(z - top)
            else:
                acc = acc * np.exp(top - z) + 1.0
                top = z
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
            P[i, j] = np.exp(log_a[i] + log_b[j] + (F[i] + G[j] - C[i, j]) / eps)
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
    for t in numba.prange(n_chunks):
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            for j in range(m):
                p = np.exp(log_a[i] + log_b[j] + (F[i] + G[j] - C[i, j]) / eps)
                cost[t] += p * C[i, j]
                rows[i] += p
                cols[t, j] += p
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
    for t in numba.prange(n_chunks):
        for i in range(t * chunk, min(n, (t + 1) * chunk)):
            for j in range(m):
                c = pair_cost(X, i, Y, j, code)
                p = np.exp(log_a[i] + log_b[j] + (F[i] + G[j] - c) / eps)
                cost[t] += p * c
                rows[i] += p
                cols[t, j] += p
    return cost.sum(), rows, cols.sum(axis=0)


# ---------------------------------------------------------------------------
# Solvers: one eps stage each; the eps-scaling loop lives in skwass.ot
# ---------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _absorbed_kernel(C, F, G, log_a, log_b, eps, K):
    n, m = C.shape
    for i in numba.prange(n):
        for j in range(m):
            K[i, j] = np.exp(log_a[i] + log_b[j] + (F[i] + G[j] - C[i, j]) / eps)


# Over-relaxation (Thibault et al. 2017), adapted every _RATE_WINDOW iterations:
# the error's contraction rate lam under the current omega gives the plain rate
# mu2 = (lam + omega - 1)**2 / (lam * omega**2) (Young's SOR relation), hence the
# optimum 2 / (1 + sqrt(1 - mu2)). Omega grows by at most _OMEGA_STEP per
# window (far from the fixed point large omegas diverge); when the error more
# than doubles over a window omega is halved towards 1 and capped below.
_RATE_WINDOW = 10
_OMEGA_STEP = 0.3
_LINEAR_REGIME = 1e-2
_OMEGA_MAX = 1.95


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
    plain_rate = min((rate + omega - 1.0) ** 2 / (rate * omega**2), 1.0 - 1e-12)
    optimum = 2.0 / (1.0 + np.sqrt(1.0 - plain_rate))
    step = _OMEGA_STEP if err > _LINEAR_REGIME else 1.0
    return min(optimum, omega + step, cap), cap


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
    err = 0.0
    for i in range(P.shape[0]):
        if log_w[i] > -np.inf:
            w = np.exp(log_w[i])
            err += abs(w * np.exp((P[i] - TP[i]) / eps) - w)
        P[i] = (1.0 - omega) * P[i] + omega * TP[i]
    return err


@numba.njit(cache=True, parallel=True)
def _weighted_cost(C, K, u, v):
    """``sum_ij u_i K_ij C_ij v_j``: the transport cost of ``diag(u) K diag(v)``."""
    n, m = C.shape
    partial = np.zeros(n)
    for i in numba.prange(n):
        acc = 0.0
        for j in range(m):
            acc += K[i, j] * C[i, j] * v[j]
        partial[i] = u[i] * acc
    return partial.sum()


@numba.njit(cache=True)
def sinkhorn_scaling(C, log_a, log_b, eps, F, G, tol, max_iter, tau, statistics):
    """Stabilized, over-relaxed Sinkhorn with absorption at one ``eps``.

    Iterates on scalings ``u, v`` of the absorbed kernel
    ``K = exp(log_a + log_b + (F + G - C) / eps)`` with two BLAS matrix-vector
    products per iteration (Schmitzer 2019); whenever a scaling leaves
    ``[1/tau, tau]`` it is absorbed into the potentials and ``K`` is rebuilt.
    A row or column of ``K`` that underflows triggers exact log-domain
    c-transforms instead. Updates are over-relaxed with an omega adapted to the
    measured contraction rate. All weights must be positive; ``F`` and ``G``
    are updated in place.

    With ``statistics`` a last row update makes the rows exact and the plan's
    ``<P, C>`` and column sums are read off ``K`` without any ``exp``.

    Returns ``(n_iter, marginal_error, done, cost, col_sums)``: the error is the
    L1 row plus column error of the plan before the last column update, read
    off the products already made; ``done`` says whether ``F`` is the exact
    row c-transform of ``G`` and ``cost``/``col_sums`` describe that plan
    (otherwise they are zeros).
    """
    n, m = C.shape
    dt = C.dtype
    a = np.exp(log_a).astype(dt)
    b = np.exp(log_b).astype(dt)
    K = np.empty((n, m), dtype=dt)
    _absorbed_kernel(C, F, G, log_a, log_b, eps, K)
    u = np.ones(n, dtype=dt)
    v = np.ones(m, dtype=dt)
    omega = 1.0
    cap = _OMEGA_MAX
    err_start = -1.0
    err = np.inf
    it = 0
    while it < max_iter:
        Kv = np.dot(K, v)
        ok = True
        err = 0.0
        for i in range(n):
            if Kv[i] > 0 and Kv[i] < np.inf:
                u[i] = _relaxed(u[i], a[i] / Kv[i], omega)
                err += abs(u[i] * Kv[i] - a[i])
            else:
                ok = False
        if ok:
            KTu = np.dot(u, K)
            for j in range(m):
                err += abs(v[j] * KTu[j] - b[j])
                if KTu[j] > 0 and KTu[j] < np.inf:
                    v[j] = _relaxed(v[j], b[j] / KTu[j], omega)
                else:
                    ok = False
        it += 1
        if not ok or not err < np.inf:
            # Underflow or overflow: absorb what is finite, then redo the
            # iteration exactly in the log domain, without relaxation.
            for j in range(m):
                if v[j] > 0 and v[j] < np.inf:
                    G[j] += eps * np.log(v[j])
            F[:] = ctransform_rows(C, G, log_b, eps)
            G[:] = ctransform_cols(C, F, log_a, eps)
            _absorbed_kernel(C, F, G, log_a, log_b, eps, K)
            u[:] = 1.0
            v[:] = 1.0
            omega = 1.0
            cap = 1.0 + 0.5 * (cap - 1.0)
            err_start = -1.0
            err = np.inf
            continue
        if err <= tol:
            break
        omega, cap, err_start = _adapt_omega(it, err, err_start, omega, cap)
        big = False
        for i in range(n):
            if u[i] > tau or u[i] < 1.0 / tau:
                big = True
                break
        if not big:
            for j in range(m):
                if v[j] > tau or v[j] < 1.0 / tau:
                    big = True
                    break
        if big:
            for i in range(n):
                F[i] += eps * np.log(u[i])
                u[i] = 1.0
            for j in range(m):
                G[j] += eps * np.log(v[j])
                v[j] = 1.0
            _absorbed_kernel(C, F, G, log_a, log_b, eps, K)
    done = False
    cost = 0.0
    col_sums = np.zeros(m)
    if statistics:
        Kv = np.dot(K, v)
        done = True
        for i in range(n):
            if Kv[i] > 0 and Kv[i] < np.inf:
                u[i] = a[i] / Kv[i]
            else:
                done = False
        if done:
            KTu = np.dot(u, K)
            for j in range(m):
                col_sums[j] = v[j] * KTu[j]
            cost = _weighted_cost(C, K, u, v)
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
    ``b_j exp((G_j - T(F)_j) / eps)``. Returns ``(n_iter, marginal_error)``;
    ``F`` and ``G`` are updated in place and ``F`` ends as the exact ``T(G)``.
    """
    omega = 1.0
    cap = _OMEGA_MAX
    err_start = -1.0
    err = np.inf
    it = 0
    while it < max_iter:
        err = _relax_potential(F, ctransform_online(X, Y, G, log_b, eps, code), log_a, eps, omega)
        err += _relax_potential(G, ctransform_online(Y, X, F, log_a, eps, code), log_b, eps, omega)
        it += 1
        if not err < np.inf:
            # A relaxed step overshot: restart from exact c-transforms, plainly.
            F[:] = ctransform_online(X, Y, G, log_b, eps, code)
            omega = 1.0
            cap = 1.0 + 0.5 * (cap - 1.0)
            err_start = -1.0
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
    n = C.shape[0]
    err = np.inf
    it = 0
    while it < max_iter:
        TF = ctransform_rows(C, F, log_a, eps)
        err = 0.0
        for i in range(n):
            a_i = np.exp(log_a[i])
            err += 2.0 * abs(a_i * np.exp((F[i] - TF[i]) / eps) - a_i)
            F[i] = 0.5 * (F[i] + TF[i])
        it += 1
        if err <= tol:
            break
    return it, err


# ---------------------------------------------------------------------------
# Batches of small problems: one serial solver per problem, problems in prange
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
        acc = 0.0
        for j in range(m):
            acc += np.exp(log_b[j] + (G[j] - C[i, j]) * inv_eps - top)
        out[i] = -eps * (top + np.log(acc))


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
                acc[j] += np.exp(z - top[j])
            else:
                acc[j] = acc[j] * np.exp(top[j] - z) + 1.0
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
        err = _relax_potential(F, TG, log_a, eps, omega)
        _ctransform_cols_serial(C, F, log_a, eps, TF)
        err += _relax_potential(G, TF, log_b, eps, omega)
        it += 1
        if not err < np.inf:
            _ctransform_rows_serial(C, G, log_b, eps, F)
            omega = 1.0
            cap = 1.0 + 0.5 * (cap - 1.0)
            err_start = -1.0
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

    ``F`` and ``G`` (``B x n``, ``B x m``) are warm starts, updated in place.
    Returns per-problem ``(n_iter, marginal_error)`` arrays.
    """
    B = C.shape[0]
    n_iter = np.zeros(B, dtype=np.int64)
    errors = np.empty(B)
    for k in numba.prange(B):
        n_iter[k], errors[k] = _sinkhorn_log_serial(
            C[k], log_a[k], log_b[k], eps[k], F[k], G[k], tol, max_iter
        )
    return n_iter, errors


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
            for j in range(m):
                p = np.exp(log_a[k, i] + log_b[k, j] + (F[k, i] + G[k, j] - C[k, i, j]) * inv_eps)
                cost[k] += p * C[k, i, j]
                rows[k, i] += p
                cols[k, j] += p
    return cost, rows, cols
