"""Log-domain Sinkhorn written against an array namespace and a few fused ops.

The GPU backend runs this algorithm; the NumPy reference backend
(:mod:`skwass._backend._reference`) runs the very same code on the CPU so that
it is tested on every machine. An ``ops`` module provides:

``xp``
    The array namespace (``cupy`` or ``numpy``).
``to_host(x)``
    A NumPy copy of a (small) device array.
``prepare(C)``
    Whatever the c-transforms need from a ``(B, n, m)`` cost stack (CuPy keeps
    ``C`` and a contiguous ``C^T`` so that both transforms read coalesced).
``ctransform_rows(state, G, log_b, eps)`` / ``ctransform_cols(state, F, log_a, eps)``
    Log-sum-exp c-transforms of a stack, ``(B, n)`` / ``(B, m)``; ``eps`` is ``(B,)``.
``ctransform_points(X, Y, G, log_b, eps, metric)``
    Row c-transform of one problem with costs computed from points, ``(n,)``;
    the column transform swaps the clouds.
``plan_statistics(state, F, G, log_a, log_b, eps)`` /
``plan_statistics_points(X, Y, F, G, log_a, log_b, eps, metric)``
    ``(<P, C>, row sums, column sums)`` of the plan, without storing it.
``relax(P, TP, log_w, eps, omega)``
    Over-relaxed step and the L1 marginal error it reads off (``(B, n)``
    arrays, ``eps``/``omega`` ``(B, 1)``): ``(new P, error per problem)``.

Every solver runs one eps stage (the eps-scaling loop lives in ``skwass.ot``)
and mirrors the Numba log-domain solvers of :mod:`skwass._kernels._log_domain`:
same updates, same free error read-off, same adaptive over-relaxation, same
check of the returned plan while relaxed. Errors are copied to the host twice
every ``RATE_WINDOW`` iterations on small problems (where the window starts
and where the plan check needs it; every iteration on large problems, where
one iteration outweighs the copy); a problem that has converged is frozen
(``omega = 0``) while the others go on.
"""

import functools

import numpy as np

from skwass._kernels._relaxation import (
    OMEGA_MAX,
    PLAIN_CHECK_RANGE,
    RATE_WINDOW,
    next_omega,
    restart_relaxation,
)

# From this many cost entries per iteration the error is read every iteration.
_SYNC_EVERY_ITERATION = 2**24


def _iterate(ops, rows, cols, log_a, log_b, eps, F, G, tol, max_iter, size):
    """Over-relaxed alternating c-transforms on ``B`` problems at once.

    ``rows(G)`` and ``cols(F)`` are the c-transforms (``(B, n)``, ``(B, m)``).
    Returns ``(n_iter (B,), error (B,), F, G)`` with ``F = rows(G)`` exactly.
    """
    xp = ops.xp
    B = F.shape[0]
    omega = np.ones(B)
    cap = np.full(B, OMEGA_MAX)
    err_start = np.full(B, -1.0)
    err = np.full(B, np.inf)
    active = np.ones(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.int64)
    eps_col = eps[:, None]
    omega_dev = xp.asarray(omega[:, None])
    no_step = xp.zeros((B, 1))
    sync_always = size >= _SYNC_EVERY_ITERATION
    it = 0
    while it < max_iter and active.any():
        TG = rows(G)
        if it % RATE_WINDOW == 0:
            # Relaxed steps can keep their own error well above that of the
            # plan (T(G), G) returned in the end: stop when that one is within tol.
            check = active & (omega != 1.0) & (err <= PLAIN_CHECK_RANGE * tol)
            if check.any():
                plain = ops.to_host(ops.relax(G, cols(TG), log_b, eps_col, no_step)[1])
                stop = check & (plain <= tol)
                if stop.any():
                    F = xp.where(xp.asarray(stop)[:, None], TG, F)
                    err[stop] = plain[stop]
                    active &= ~stop
                    omega[stop] = 0.0
                    omega_dev = xp.asarray(omega[:, None])
                    if not active.any():
                        break
        F, err_f = ops.relax(F, TG, log_a, eps_col, omega_dev)
        G, err_g = ops.relax(G, cols(F), log_b, eps_col, omega_dev)
        it += 1
        n_iter += active
        window = it % RATE_WINDOW == 1
        if not (sync_always or it % RATE_WINDOW in (0, 1) or it == max_iter):
            continue
        err_now = ops.to_host(err_f + err_g)
        restart = np.zeros(B, dtype=bool)
        for k in np.flatnonzero(active):
            err[k] = err_now[k]
            if not err[k] < np.inf:
                # A relaxed step overshot: restart from exact c-transforms, plainly.
                restart[k] = True
                omega[k], cap[k], err_start[k] = restart_relaxation(cap[k])
            elif err[k] <= tol:
                active[k] = False
                omega[k] = 0.0  # frozen: relax leaves its potentials unchanged
            elif window:
                if err_start[k] > 0.0:
                    omega[k], cap[k] = next_omega(
                        omega[k], cap[k], (err[k] / err_start[k]) ** (1.0 / RATE_WINDOW),
                        err[k],
                    )
                err_start[k] = err[k]
        if restart.any():
            F = xp.where(xp.asarray(restart)[:, None], rows(G), F)
        omega_dev = xp.asarray(omega[:, None])
    F = rows(G)
    return n_iter, err, F, G


def sinkhorn_dense(ops, state, log_a, log_b, eps, F, G, tol, max_iter):
    """One eps stage on a prepared ``(B, n, m)`` stack; ``eps`` is a ``(B,)`` array."""
    B, n, m = F.shape[0], F.shape[1], G.shape[1]
    return _iterate(
        ops,
        lambda G: ops.ctransform_rows(state, G, log_b, eps),
        lambda F: ops.ctransform_cols(state, F, log_a, eps),
        log_a, log_b, eps, F, G, tol, max_iter, B * n * m,
    )


def sinkhorn_points(ops, X, Y, log_a, log_b, eps, F, G, tol, max_iter, metric):
    """One eps stage on one problem with costs from points (``F``: (1, n), ``G``: (1, m)).

    ``eps`` is a float; memory is O(n + m) beside the points.
    """
    xp = ops.xp
    return _iterate(
        ops,
        lambda G: ops.ctransform_points(X, Y, G[0], log_b[0], eps, metric)[None],
        lambda F: ops.ctransform_points(Y, X, F[0], log_a[0], eps, metric)[None],
        log_a, log_b, xp.asarray([eps]), F, G, tol, max_iter, X.shape[0] * Y.shape[0],
    )


def sinkhorn_symmetric(ops, state, log_a, eps, F, tol, max_iter):
    """``OT(a, a)`` by the averaged update ``F <- (F + T F) / 2`` (Feydy et al. 2019).

    As :func:`skwass._kernels._log_domain.sinkhorn_symmetric`, on a ``(B, n, n)``
    stack of symmetric costs. Returns ``(n_iter (B,), error (B,), F)``.
    """
    B, n = F.shape
    return _symmetric(
        ops, lambda F: ops.ctransform_rows(state, F, log_a, eps), log_a, eps, F, tol,
        max_iter, B * n * n,
    )


def sinkhorn_symmetric_points(ops, X, log_a, eps, F, tol, max_iter, metric):
    """:func:`sinkhorn_symmetric` on one cloud ``X`` with costs computed on the fly.

    ``F`` and ``log_a`` are ``(1, n)``, ``eps`` a float; memory O(n) beside the points.
    """
    return _symmetric(
        ops, lambda F: ops.ctransform_points(X, X, F[0], log_a[0], eps, metric)[None],
        log_a, ops.xp.asarray([eps]), F, tol, max_iter, X.shape[0] ** 2,
    )


def _symmetric(ops, transform, log_a, eps, F, tol, max_iter, size):
    xp = ops.xp
    B = F.shape[0]
    half = xp.full((B, 1), 0.5)
    eps_col = eps[:, None]
    sync_always = size >= _SYNC_EVERY_ITERATION
    err = np.full(B, np.inf)
    active = np.ones(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.int64)
    it = 0
    while it < max_iter and active.any():
        F, err_dev = ops.relax(F, transform(F), log_a, eps_col, half)
        it += 1
        n_iter += active
        if not (sync_always or it % RATE_WINDOW == 1 or it == max_iter):
            continue
        err_now = 2.0 * ops.to_host(err_dev)
        err[active] = err_now[active]
        done = active & (err <= tol)
        if done.any():
            active &= ~done
            half = xp.asarray(np.where(active, 0.5, 0.0)[:, None])
    return n_iter, err, F


# Cost entries per row chunk of plan_cost_gradient_points (512 MiB in float64).
_GRADIENT_CHUNK = 2**26


def plan_cost_gradient_points(ops, X, Y, F, G, log_a, log_b, eps, metric):
    """``sum_j P_ij grad_x c(x_i, y_j)`` for the plan of ``(F, G)``, costs from points.

    A chunk of rows at a time (dense costs, plan and chain rule of the chunk), so
    memory stays at ``_GRADIENT_CHUNK`` entries whatever ``n x m``.
    """
    xp = ops.xp
    n, m = X.shape[0], Y.shape[0]
    rows = max(1, _GRADIENT_CHUNK // max(m, 1))
    out = xp.zeros((n, X.shape[1]))
    for start in range(0, n, rows):
        chunk = slice(start, min(n, start + rows))
        C = ops.pairwise_cost(X[chunk], Y, metric).astype(xp.float64)
        P = xp.exp(log_a[chunk, None] + log_b[None, :] + (F[chunk, None] + G[None, :] - C) / eps)
        out[chunk] = cost_gradient(xp, P, X[chunk], Y, metric)
    return out


def plan_matrix(xp, C, F, G, log_a, log_b, eps):
    """Dense plan(s) ``exp(log_a_i + log_b_j + (F_i + G_j - C_ij) / eps)``, 2-D or stacked."""
    eps = xp.asarray(eps, dtype=xp.float64)
    if C.ndim == 3:
        rows, cols, eps = (slice(None), slice(None), None), (slice(None), None), eps[:, None, None]
    else:
        rows, cols = (slice(None), None), (None, slice(None))
    return xp.exp(log_a[rows] + log_b[cols] + (F[rows] + G[cols] - C) / eps)


def cost_gradient(xp, G, X, Y, metric):
    """``sum_j G_ij * grad_x c(x_i, y_j)`` for the built-in point metrics.

    Whole-matrix operations: one ``(n, m)`` temporary for ``"euclidean"``, one
    per feature for ``"cityblock"``. The gradient of ``|x - y|`` at ``x == y``
    is taken as 0, as on the CPU.
    """
    if metric == "sqeuclidean":
        return 2.0 * (G.sum(axis=1)[:, None] * X - G @ Y)
    if metric == "euclidean":
        dist = xp.sqrt(xp.maximum(
            (X * X).sum(axis=1)[:, None] + (Y * Y).sum(axis=1)[None, :] - 2.0 * (X @ Y.T), 0.0))
        W = xp.where(dist > 0, G / xp.where(dist > 0, dist, 1.0), 0.0)
        return W.sum(axis=1)[:, None] * X - W @ Y
    grad = xp.zeros_like(X, dtype=xp.float64)
    for q in range(X.shape[1]):
        grad[:, q] = (G * xp.sign(X[:, q, None] - Y[None, :, q])).sum(axis=1)
    return grad


def hamming(X, Y):
    """Hamming distances between binary rows, one matrix product (any namespace)."""
    return X.sum(axis=1)[:, None] + Y.sum(axis=1)[None, :] - 2.0 * (X @ Y.T)


# What a backend module gets from here: the solvers take the module itself (its
# fused ops), the array helpers its namespace.
_SOLVERS = ("sinkhorn_dense", "sinkhorn_points", "sinkhorn_symmetric",
            "sinkhorn_symmetric_points", "plan_cost_gradient_points")
_ARRAY_HELPERS = ("plan_matrix", "cost_gradient")


def bind(ops):
    """Give the backend module ``ops`` the generic solvers and helpers, bound to it."""
    for name in _SOLVERS:
        setattr(ops, name, functools.partial(globals()[name], ops))
    for name in _ARRAY_HELPERS:
        setattr(ops, name, functools.partial(globals()[name], ops.xp))
    ops.hamming = hamming
