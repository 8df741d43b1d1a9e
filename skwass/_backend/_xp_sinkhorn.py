"""Log-domain Sinkhorn written against an array namespace and a few fused ops.

The GPU backend runs this algorithm; the NumPy reference backend
(:mod:`skwass._backend._reference`) runs the very same code on the CPU so that
it is tested on every machine. The functions here take ``ops``, the backend
module, whose fused primitives they call:

``xp``, ``to_host(x)``
    The array namespace (``cupy`` or ``numpy``), and a NumPy copy of a small array.
``prepare(C)``
    Whatever the c-transforms need from a ``(B, n, m)`` cost stack (CuPy keeps
    ``C`` and a contiguous ``C^T`` so that both transforms read coalesced).
``lse_rows(state, G, log_b, eps)`` / ``lse_cols(state, F, log_a, eps)``
    Log-sum-exp c-transforms of a stack, ``(B, n)`` / ``(B, m)``; ``eps`` is ``(B,)``.
``lse_points(X, Y, G, log_b, eps, metric)``
    Row c-transform of one problem with costs computed from points, ``(n,)``;
    the column transform swaps the clouds.
``statistics(state, F, G, log_a, log_b, eps)``
    ``(<P, C>, row sums, column sums)`` of the plans of a stack, without storing them.
``relax(P, TP, log_w, eps, omega)``
    Over-relaxed step and the L1 marginal error it reads off (``(B, n)``
    arrays, ``eps``/``omega`` ``(B, 1)``): ``(new P, error per problem)``.
``pairwise_cost(X, Y, metric)``
    The dense cost matrix.

:func:`operations` turns them into the operations of the backend interface
(:mod:`skwass._backend`), which each backend module assigns to its own names.

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


def _iterate(ops, rows, cols, log_a, log_b, eps, F, G, tol, max_iter, size, skip):
    """Over-relaxed alternating c-transforms on ``B`` problems at once.

    ``rows(G)`` and ``cols(F)`` are the c-transforms (``(B, n)``, ``(B, m)``);
    the problems marked in the host mask ``skip`` are frozen from the start.
    Returns ``(n_iter (B,), error (B,), F, G)`` with ``F = rows(G)`` exactly on
    the other problems.
    """
    xp = ops.xp
    B = F.shape[0]
    omega = np.where(skip, 0.0, 1.0)
    cap = np.full(B, OMEGA_MAX)
    err_start = np.full(B, -1.0)
    err = np.full(B, np.inf)
    active = ~skip
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
    TG = rows(G)
    F = xp.where(xp.asarray(skip)[:, None], F, TG) if skip.any() else TG
    return n_iter, err, F, G


def sinkhorn_stack(ops, C, log_a, log_b, eps, F, G, tol, max_iter, statistics):
    """One eps stage on a ``(B, n, m)`` stack, as ``skwass._backend._numpy.sinkhorn_stack``.

    ``eps`` is a host ``(B,)`` array; a problem whose eps is ``nan`` is left
    alone. ``F`` ends as the exact row c-transform of ``G``; the statistics
    are never free here (None), whatever ``statistics`` says.
    """
    xp = ops.xp
    B, n, m = C.shape
    state = ops.prepare(C)
    skip = np.isnan(eps)
    eps = xp.asarray(np.where(skip, 1.0, eps))
    n_iter, _, F, G = _iterate(
        ops,
        lambda G: ops.lse_rows(state, G, log_b, eps),
        lambda F: ops.lse_cols(state, F, log_a, eps),
        log_a, log_b, eps, F, G, tol, max_iter, B * n * m, skip,
    )
    return n_iter, F, G, None


def sinkhorn_points(ops, X, Y, log_a, log_b, eps, F, G, tol, max_iter, metric):
    """One eps stage on one problem (``F``: (n,), ``G``: (m,), ``eps`` a float) with
    costs computed from the points; memory O(n + m) beside them."""
    n_iter, _, F, G = _iterate(
        ops,
        lambda G: ops.lse_points(X, Y, G[0], log_b, eps, metric)[None],
        lambda F: ops.lse_points(Y, X, F[0], log_a, eps, metric)[None],
        log_a[None], log_b[None], ops.xp.asarray([eps]), F[None], G[None], tol, max_iter,
        X.shape[0] * Y.shape[0], np.zeros(1, dtype=bool),
    )
    return int(n_iter[0]), F[0], G[0]


def sinkhorn_symmetric(ops, C, log_a, eps, F, tol, max_iter):
    """``OT(a, a)`` on one symmetric ``(n, n)`` cost by the averaged update
    ``F <- (F + T F) / 2`` (Feydy et al. 2019). Returns ``(n_iter, F)``."""
    state = ops.prepare(C[None])
    eps_dev = ops.xp.asarray([eps])
    return _symmetric(
        ops, lambda F: ops.lse_rows(state, F, log_a[None], eps_dev), log_a, eps_dev, F,
        tol, max_iter, C.size,
    )


def sinkhorn_symmetric_points(ops, X, log_a, eps, F, tol, max_iter, metric):
    """:func:`sinkhorn_symmetric` on the cloud ``X``, costs computed on the fly."""
    return _symmetric(
        ops, lambda F: ops.lse_points(X, X, F[0], log_a, eps, metric)[None],
        log_a, ops.xp.asarray([eps]), F, tol, max_iter, X.shape[0] ** 2,
    )


def _symmetric(ops, transform, log_a, eps, F, tol, max_iter, size):
    """The averaged update on one problem (``F``: (n,), ``eps``: (1,) on the device)."""
    xp = ops.xp
    F, log_a = F[None], log_a[None]
    half = xp.full((1, 1), 0.5)
    eps_col = eps[:, None]
    sync_always = size >= _SYNC_EVERY_ITERATION
    err = np.inf
    it = 0
    while it < max_iter:
        F, err_dev = ops.relax(F, transform(F), log_a, eps_col, half)
        it += 1
        if not (sync_always or it % RATE_WINDOW == 1 or it == max_iter):
            continue
        err = 2.0 * float(ops.to_host(err_dev)[0])
        if err <= tol:
            break
    return it, F[0]


def ctransform_rows(ops, C, G, log_b, eps):
    """Row c-transforms ``(B, n)`` of a ``(B, n, m)`` stack; ``eps`` is a host ``(B,)``."""
    return ops.lse_rows(ops.prepare(C), G, log_b, ops.xp.asarray(eps))


def plan_statistics(ops, C, F, G, log_a, log_b, eps):
    """``(<P, C> (B,), row sums (B, n), column sums (B, m))`` of the plans of a stack."""
    return ops.statistics(ops.prepare(C), F, G, log_a, log_b, ops.xp.asarray(eps))


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


# The interface operations an array-namespace backend takes from here, in the
# order operations() returns them.
OPERATIONS = ("sinkhorn_stack", "sinkhorn_points", "sinkhorn_symmetric",
              "sinkhorn_symmetric_points", "ctransform_rows", "plan_statistics",
              "plan_cost_gradient_points", "plan_matrix", "cost_gradient", "hamming")


def operations(ops):
    """The functions of :data:`OPERATIONS` for the backend module ``ops``.

    The solvers and plan quantities take ``ops`` (its fused primitives), the
    array helpers its namespace ``ops.xp``. A backend module assigns them to
    its own names, in this order.
    """
    functions = globals()
    return tuple(
        hamming if name == "hamming"
        else functools.partial(functions[name], ops.xp) if name in ("plan_matrix",
                                                                  "cost_gradient")
        else functools.partial(functions[name], ops)
        for name in OPERATIONS
    )
