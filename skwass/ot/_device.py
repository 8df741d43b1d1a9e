"""The public OT functions on device arrays (CuPy): validation, eps-scaling, results.

:func:`~skwass.ot.sinkhorn`, :func:`~skwass.ot.sinkhorn_points`,
:func:`~skwass.ot.cost_matrix` and :func:`~skwass.ot.mmd` hand CuPy input to
the functions here, which take the backend module first;
:func:`~skwass.ot.sinkhorn_divergence` and :func:`~skwass.ot.sinkhorn_loss`
run their own (array-namespace) code on the device with the validation and
solvers from here. Every problem is solved by the backend's log-domain
solver (:mod:`skwass._backend._xp_sinkhorn`) as a stack of ``B`` problems
(``B = 1`` for one problem), so single problems, batches and online solves
share one code path. Weights, ``eps`` and warm starts are small: they are
validated on the host with the NumPy path's checks, then moved to the device.

The same functions run with :mod:`skwass._backend._reference` (NumPy arrays
and plain NumPy ops) in the tests, which is how this path is checked on
machines without a GPU.
"""

import numbers

import numpy as np

from skwass.ot._costs import costs_of_points
from skwass.ot._sinkhorn import (
    _FLOAT32_TOL_FLOOR,
    SinkhornResult,
    _batch_eps,
    _batch_schedule,
    _batch_weights,
    _check_init,
    _check_solver_options,
    _diameter,
    _eps_schedule,
    _plan_resolution,
    _resolve_mode,
    _stage_budget,
    _warn_if_batch_not_converged,
    _warn_if_not_converged,
    check_point_batches,
)
from skwass.ot._validation import check_cost_scale, check_eps, check_weights, largest_cost

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _host(backend, x):
    """A NumPy copy of a small argument (weights, eps, potentials); None stays None."""
    return None if x is None else backend.to_host(x)


def check_device_array(backend, x, name, *, ndim, dtype=None, column=False):
    """Device twin of :func:`~skwass.ot._validation.check_float_array`."""
    xp = backend.xp
    arr = xp.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}.")
    if column and ndim == 2 and arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}).")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in _FLOAT_DTYPES else np.float64
    arr = xp.ascontiguousarray(arr, dtype=dtype)
    if not bool(xp.isfinite(arr).all()):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def check_points(backend, X, Y, ndim=2):
    X = check_device_array(backend, X, "X", ndim=ndim, column=ndim == 2)
    Y = check_device_array(backend, Y, "Y", ndim=ndim, column=ndim == 2)
    if X.shape[-1] != Y.shape[-1]:
        raise ValueError(
            f"X and Y must have the same number of features, got {X.shape[-1]} "
            f"and {Y.shape[-1]}."
        )
    dtype = np.result_type(X.dtype, Y.dtype)
    return X.astype(dtype, copy=False), Y.astype(dtype, copy=False)


def _host_eps(backend, eps):
    """eps as given when a number, else as a NumPy array (0-d: a float)."""
    if isinstance(eps, numbers.Real) or isinstance(eps, (list, tuple)):
        return eps
    eps = backend.to_host(eps)
    return float(eps) if eps.ndim == 0 and eps.dtype.kind in "fiu" else eps


def _device_weights(backend, w, n, name):
    return backend.xp.asarray(check_weights(_host(backend, w), n, name))


# ---------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------


def _result(backend, F, G, statistics, n_iter, tol, eps, a, b, cost, batch):
    """SinkhornResult from ``(B, n)``/``(B, m)`` potentials whose rows are exact."""
    xp = backend.xp
    transport_cost, rows, cols = statistics
    a, b = xp.asarray(a), xp.asarray(b)
    error = xp.abs(rows - a).sum(axis=1) + xp.abs(cols - b).sum(axis=1)
    error_host = backend.to_host(error)
    converged = error_host <= tol
    if not bool(xp.isfinite(F).all() & xp.isfinite(G).all()):
        raise FloatingPointError(
            "Sinkhorn produced non-finite potentials: increase eps or rescale the costs."
        )
    value = (a * F).sum(axis=1) + (b * G).sum(axis=1)
    if batch:
        _warn_if_batch_not_converged(converged, error_host, tol)
        return SinkhornResult(
            f=F, g=G, transport_cost=transport_cost, value=value, n_iter=n_iter,
            converged=converged, marginal_error=error, eps=xp.asarray(eps), a=a, b=b,
            _cost=cost,
        )
    _warn_if_not_converged(
        bool(converged[0]), int(n_iter[0]), float(error_host[0]), tol,
        _plan_resolution(backend.to_host(F[0]), backend.to_host(G[0]), float(eps[0])),
    )
    return SinkhornResult(
        f=F[0], g=G[0], transport_cost=float(transport_cost[0]), value=float(value[0]),
        n_iter=int(n_iter[0]), converged=bool(converged[0]),
        marginal_error=float(error_host[0]), eps=float(eps[0]), a=a[0], b=b[0], _cost=cost,
    )


def _solve_stack(backend, a, b, C, eps, tol, max_iter, eps_scaling, init, batch):
    """Solve the ``(B, n, m)`` device stack ``C``; ``a``, ``b``, ``eps`` on the host."""
    xp = backend.xp
    B, n, m = C.shape
    if not batch and C.dtype == np.float32:
        tol = max(tol, _FLOAT32_TOL_FLOOR)
    with np.errstate(divide="ignore"):
        log_a, log_b = xp.asarray(np.log(a)), xp.asarray(np.log(b))
    for scale, eps_k in zip(backend.to_host(largest_cost(C, axis=(1, 2))), eps, strict=True):
        check_cost_scale(scale, eps_k)
    state = backend.prepare(C)
    if init is None:
        F, G = xp.zeros((B, n)), xp.zeros((B, m))
        cost_range = backend.to_host(C.max(axis=(1, 2)) - C.min(axis=(1, 2)))
        stages = _batch_schedule(eps, cost_range.astype(np.float64), eps_scaling)
    else:
        F, G = xp.asarray(init[0]), xp.asarray(init[1])
        stages = [eps]
    n_iter = np.zeros(B, dtype=np.int64)
    for stage_eps, (stage_tol, stage_cap) in zip(
        stages, _stage_budget(stages, tol, max_iter), strict=True
    ):
        budget = max_iter - int(n_iter.max()) if stage_cap is None else stage_cap
        if budget <= 0:
            break
        it, _, F, G = backend.sinkhorn_dense(
            state, log_a, log_b, xp.asarray(stage_eps), F, G, stage_tol, budget
        )
        n_iter += it
    statistics = backend.plan_statistics(state, F, G, log_a, log_b, xp.asarray(eps))

    def cost():
        return C if batch else C[0]

    return _result(backend, F, G, statistics, n_iter, tol, eps, a, b, cost, batch)


def sinkhorn(backend, a, b, C, eps, *, tol, max_iter, eps_scaling, init):
    """:func:`skwass.ot.sinkhorn` on device arrays."""
    batch = np.ndim(C) == 3
    _check_solver_options(tol, max_iter, eps_scaling)
    if batch:
        C = check_device_array(backend, C, "C", ndim=3, dtype=np.float64)
        B, n, m = C.shape
        a = _batch_weights(_host(backend, a), B, n, "a")
        b = _batch_weights(_host(backend, b), B, m, "b")
        eps = _batch_eps(_host_eps(backend, eps), B)
        init = _check_init(_host_pair(backend, init), (B, n), (B, m))
    else:
        C = check_device_array(backend, C, "C", ndim=2)[None]
        n, m = C.shape[1:]
        a = check_weights(_host(backend, a), n, "a")[None]
        b = check_weights(_host(backend, b), m, "b")[None]
        eps = np.array([check_eps(_host_eps(backend, eps))])
        init = _check_init(_host_pair(backend, init), (n,), (m,))
        init = None if init is None else (init[0][None], init[1][None])
    return _solve_stack(backend, a, b, C, eps, tol, max_iter, eps_scaling, init, batch)


def _host_pair(backend, init):
    if isinstance(init, (tuple, list)) and len(init) == 2:
        return tuple(_host(backend, p) for p in init)
    return init


def _solve_online(backend, X, Y, a, b, eps, metric, tol, max_iter, eps_scaling, init):
    xp = backend.xp
    n, m = X.shape[0], Y.shape[0]
    if X.dtype == np.float32:
        tol = max(tol, _FLOAT32_TOL_FLOOR)
    with np.errstate(divide="ignore"):
        log_a, log_b = xp.asarray(np.log(a)[None]), xp.asarray(np.log(b)[None])
    span = xp.maximum(X.max(axis=0), Y.max(axis=0)) - xp.minimum(X.min(axis=0), Y.min(axis=0))
    diameter = _diameter(backend.to_host(span), metric)
    check_cost_scale(diameter, eps, X.dtype)
    if init is None:
        F, G = xp.zeros((1, n)), xp.zeros((1, m))
        stages = _eps_schedule(eps, diameter, eps_scaling)
    else:
        F, G = xp.asarray(init[0])[None], xp.asarray(init[1])[None]
        stages = [eps]
    n_iter = np.zeros(1, dtype=np.int64)
    for stage_eps, (stage_tol, stage_cap) in zip(
        stages, _stage_budget(stages, tol, max_iter), strict=True
    ):
        budget = max_iter - int(n_iter[0]) if stage_cap is None else stage_cap
        if budget <= 0:
            break
        it, _, F, G = backend.sinkhorn_points(
            X, Y, log_a, log_b, stage_eps, F, G, stage_tol, budget, metric
        )
        n_iter += it
    cost, rows, cols = backend.plan_statistics_points(
        X, Y, F[0], G[0], log_a[0], log_b[0], eps, metric
    )
    statistics = (xp.asarray(cost).reshape(1), rows[None], cols[None])
    return _result(
        backend, F, G, statistics, n_iter, tol, np.array([eps]), a[None], b[None],
        lambda: cost_matrix(backend, X, Y, metric=metric), batch=False,
    )


def sinkhorn_points(backend, X, Y, a, b, *, eps, metric, mode, tol, max_iter, eps_scaling,
                    init):
    """:func:`skwass.ot.sinkhorn_points` on device arrays."""
    _check_solver_options(tol, max_iter, eps_scaling)
    if np.ndim(X) == 3 or np.ndim(Y) == 3:
        X, Y = _check_point_batches(backend, X, Y)
        if mode == "online":
            raise ValueError(
                "mode='online' does not take batches of point clouds (3-D X or Y); use "
                "mode='dense' or solve the problems one by one."
            )
        B, n, m = X.shape[0], X.shape[1], Y.shape[1]
        C = backend.xp.stack(
            [cost_matrix(backend, X[k], Y[k], metric=metric) for k in range(B)]
        ).astype(np.float64, copy=False)
        a = _batch_weights(_host(backend, a), B, n, "a")
        b = _batch_weights(_host(backend, b), B, m, "b")
        eps = _batch_eps(_host_eps(backend, eps), B)
        init = _check_init(_host_pair(backend, init), (B, n), (B, m))
        return _solve_stack(backend, a, b, C, eps, tol, max_iter, eps_scaling, init, True)
    X, Y = check_points(backend, X, Y)
    n, m = X.shape[0], Y.shape[0]
    a = check_weights(_host(backend, a), n, "a")
    b = check_weights(_host(backend, b), m, "b")
    eps = check_eps(_host_eps(backend, eps))
    init = _check_init(_host_pair(backend, init), (n,), (m,))
    if _resolve_mode(mode, metric, n, m, X.dtype.itemsize) == "online":
        return _solve_online(backend, X, Y, a, b, eps, metric, tol, max_iter, eps_scaling,
                             init)
    C = cost_matrix(backend, X, Y, metric=metric)[None]
    init = None if init is None else (init[0][None], init[1][None])
    return _solve_stack(backend, a[None], b[None], C, np.array([eps]), tol, max_iter,
                        eps_scaling, init, False)


def _check_point_batches(backend, X, Y):
    """Device twin of :func:`skwass.ot._sinkhorn.check_point_batches`."""

    def check(x, name, **kwargs):
        return check_device_array(backend, x, name, **kwargs)

    return check_point_batches(X, Y, check=check, xp=backend.xp)


def _solve_symmetric(backend, a, C, eps, tol, max_iter):
    """``OT(a, a)`` on one symmetric ``(n, n)`` device cost (averaged update)."""
    xp = backend.xp
    check_cost_scale(float(largest_cost(C)), eps)
    if C.dtype == np.float32:
        tol = max(tol, _FLOAT32_TOL_FLOOR)
    with np.errstate(divide="ignore"):
        log_a = xp.asarray(np.log(a)[None])
    state = backend.prepare(C[None])
    eps_dev = xp.asarray([eps])
    n_iter, _, F = backend.sinkhorn_symmetric(
        state, log_a, eps_dev, xp.zeros((1, a.shape[0])), tol, max_iter
    )
    statistics = backend.plan_statistics(state, F, F, log_a, log_a, eps_dev)
    return _result(backend, F, F.copy(), statistics, n_iter, tol, np.array([eps]), a[None],
                   a[None], lambda: C, batch=False)


# ---------------------------------------------------------------------------
# Costs, divergences, MMD
# ---------------------------------------------------------------------------


def cost_matrix(backend, X, Y=None, metric="sqeuclidean", normalize=None):
    """:func:`skwass.ot.cost_matrix` on device arrays (device checks, shared body)."""
    if Y is None:
        X = check_device_array(backend, X, "X", ndim=2, column=True)
        Y = X
    else:
        X, Y = check_points(backend, X, Y)

    def check(C, name, **kwargs):
        return check_device_array(backend, C, name, **kwargs)

    return costs_of_points(backend, X, Y, metric, normalize, check)


def check_point_pair(backend, X, Y, a, b, eps):
    """Two clouds on the device, their weights and ``eps`` on the host."""
    X, Y = check_points(backend, X, Y)
    a = check_weights(_host(backend, a), X.shape[0], "a")
    b = check_weights(_host(backend, b), Y.shape[0], "b")
    return X, Y, a, b, check_eps(_host_eps(backend, eps))


def solve_symmetric_points(backend, X, a, eps, metric, tol, max_iter):
    """``OT(a, a)`` on the device cloud ``X``, costs computed on the fly (online)."""
    xp = backend.xp
    check_cost_scale(_diameter(backend.to_host(X.max(axis=0) - X.min(axis=0)), metric), eps,
                     X.dtype)
    if X.dtype == np.float32:
        tol = max(tol, _FLOAT32_TOL_FLOOR)
    with np.errstate(divide="ignore"):
        log_a = xp.asarray(np.log(a)[None])
    n_iter, _, F = backend.sinkhorn_symmetric_points(
        X, log_a, eps, xp.zeros((1, a.shape[0])), tol, max_iter, metric
    )
    cost, rows, cols = backend.plan_statistics_points(
        X, X, F[0], F[0], log_a[0], log_a[0], eps, metric
    )
    statistics = (xp.asarray(cost).reshape(1), rows[None], cols[None])
    return _result(backend, F, F.copy(), statistics, n_iter, tol, np.array([eps]), a[None],
                   a[None], lambda: cost_matrix(backend, X, X, metric=metric), batch=False)


def plan_cost_gradient(backend, X, Y, result, metric):
    """``sum_j P_ij grad_x c(x_i, y_j)`` for a single online result, on the device."""
    xp = backend.xp
    with np.errstate(divide="ignore"):
        log_a, log_b = xp.log(result.a), xp.log(result.b)
    return backend.plan_cost_gradient_points(X, Y, result.f, result.g, log_a, log_b,
                                             result.eps, metric)


def divergence_solvers(backend, eps, tol, max_iter):
    """``solve_pair(a, b, C)`` and ``solve_self(a, C)`` for a Sinkhorn divergence.

    Host weights, a device cost; both return a single-problem result (the
    self term with the averaged symmetric update).
    """

    def solve_pair(a, b, C):
        return _solve_stack(backend, a[None], b[None], C[None], np.array([eps]), tol, max_iter,
                            "auto", None, batch=False)

    def solve_self(a, C):
        return _solve_symmetric(backend, a, C, eps, tol, max_iter)

    return solve_pair, solve_self


def check_mmd_weights(backend, a, b, n, m, bandwidth):
    """Device weights ``a``, ``b`` and the host float64 bandwidths of :func:`skwass.ot.mmd`."""
    a = _device_weights(backend, a, n, "a")
    b = _device_weights(backend, b, m, "b")
    bandwidths = np.atleast_1d(_host(backend, bandwidth)).astype(np.float64)
    if bandwidths.ndim != 1 or not np.all(np.isfinite(bandwidths)) or np.any(bandwidths <= 0):
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}.")
    return a, b, bandwidths
