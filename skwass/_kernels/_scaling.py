"""The stabilized scaling solver: over-relaxed Sinkhorn on an absorbed kernel.

Conventions as in :mod:`skwass._kernels._transforms`; the scaling solver needs
positive weights.
"""

import numba
import numpy as np

from skwass._kernels import serial_and_parallel
from skwass._kernels._math import fast_exp
from skwass._kernels._relaxation import (
    OMEGA_MAX,
    adapt_omega,
    check_plain,
    relaxed,
    restart_relaxation,
)
from skwass._kernels._transforms import (
    ctransform_cols,
    ctransform_cols_serial,
    ctransform_rows,
    ctransform_rows_serial,
)


def _absorbed(C, F, G, log_a, log_b, eps, K):
    for i in numba.prange(C.shape[0]):
        for j in range(C.shape[1]):
            K[i, j] = fast_exp(log_a[i] + log_b[j] + (F[i] + G[j] - C[i, j]) / eps)


_absorbed_parallel, _absorbed_serial = serial_and_parallel(_absorbed)


@numba.njit(cache=True)
def _absorbed_kernel(C, F, G, log_a, log_b, eps, K, serial):
    """``K = exp(log_a + log_b + (F + G - C) / eps)``, on one thread with ``serial``."""
    if serial:
        _absorbed_serial(C, F, G, log_a, log_b, eps, K)
    else:
        _absorbed_parallel(C, F, G, log_a, log_b, eps, K)


def _weighted_cost_body(C, K, u, v):
    partial = np.zeros(C.shape[0])
    for i in numba.prange(C.shape[0]):
        acc = 0.0
        for j in range(C.shape[1]):
            acc += K[i, j] * C[i, j] * v[j]
        partial[i] = u[i] * acc
    return partial.sum()


_weighted_cost_parallel, _weighted_cost_serial = serial_and_parallel(_weighted_cost_body)


@numba.njit(cache=True)
def _weighted_cost(C, K, u, v, serial):
    """``sum_ij u_i K_ij C_ij v_j``: the transport cost of ``diag(u) K diag(v)``."""
    if serial:
        return _weighted_cost_serial(C, K, u, v)
    return _weighted_cost_parallel(C, K, u, v)


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
                u[i + r] = relaxed(u[i + r], plain, omega)
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


def _row_chunks(K, v, a, u, omega, KTu, u_plain, KTu_plain):
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


_row_pass_parallel, _row_pass_serial = serial_and_parallel(_row_chunks)


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
    return _row_pass_serial(K, v, a, u, omega, KTu, u_plain, KTu_plain)


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
            v_next[j] = relaxed(v[j], b[j] / total, omega)
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


def _column_blocks(KTu, v, b, omega, v_next, col_sums, KTu_plain, col_sums_plain):
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


_column_pass_parallel, _column_pass_serial = serial_and_parallel(_column_blocks)


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
        err, n_bad, plain_err = _column_pass_parallel(KTu, v, b, omega, v_next, col_sums,
                                                      KTu_plain, col_sums_plain)
    else:
        err, n_bad, plain_err = _column_pass_serial(KTu, v, b, omega, v_next, col_sums,
                                                    KTu_plain, col_sums_plain)
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
    (:func:`check_plain`), the plan this function returns, the one with a
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
    cap = OMEGA_MAX
    err_start = -1.0
    err = np.inf
    done = False
    it = 0
    while it < max_iter:
        track = statistics and check_plain(it, omega, err, tol)
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
                ctransform_rows_serial(C, G, log_b, eps, F)
                ctransform_cols_serial(C, F, log_a, eps, G)
            else:
                F[:] = ctransform_rows(C, G, log_b, eps)
                G[:] = ctransform_cols(C, F, log_a, eps)
            _absorbed_kernel(C, F, G, log_a, log_b, eps, K, serial)
            u[:] = 1.0
            v[:] = 1.0
            omega, cap, err_start = restart_relaxation(cap)
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
        omega, cap, err_start = adapt_omega(it, err, err_start, omega, cap)
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
