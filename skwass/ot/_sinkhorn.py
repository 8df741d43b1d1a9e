"""Entropic optimal transport with Sinkhorn's algorithm."""

import numbers
import warnings
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from skwass._backend import get_backend, numpy_backend
from skwass.ot._costs import POINT_METRICS, costs_of_points
from skwass.ot._multiscale import (
    MAX_DIMENSION,
    solve_multiscale,
    solve_symmetric_multiscale,
)
from skwass.ot._validation import (
    METRIC_PARAM,
    POINT_CLOUD_PARAMS,
    check_cost_scale,
    check_eps,
    check_float_array,
    check_points,
    check_weights,
    cost_extremes,
    largest_cost,
)

# A dense solve keeps the cost matrix and one kernel matrix of the same size;
# mode="auto" leaves the dense solver when those two would exceed this many bytes.
DENSE_MEMORY_LIMIT = 2**30

# float32 sums cannot certify marginals much below this L1 error.
_FLOAT32_TOL_FLOOR = 1e-5

# The coarse problem of mode="multiscale" only starts the points' solve; above
# this many cost entries it is solved by multiscale itself.
_COARSE_TOL = 1e-4
_DENSE_COARSE_SIZE = 2**20


@dataclass(frozen=True, eq=False)
class SinkhornResult:
    """Solution of an entropic optimal transport problem.

    The plan is ``P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)``; the rows of
    the returned plan match ``a`` to rounding error and ``marginal_error``
    measures the columns against ``b``.

    Attributes
    ----------
    f, g : ndarray of shape (n,), (m,)
        Dual potentials in cost units. Points with zero weight get the
        c-transform value, so ``f`` is defined everywhere.
    transport_cost : float
        ``<P, C>``, what ``ot.sinkhorn2`` returns (Genevay et al.'s W_{c,eps}).
    value : float
        Entropic OT value ``<a, f> + <b, g> = <P, C> + eps * KL(P | a x b)``.
    n_iter : int
        Sinkhorn iterations done, summed over eps-scaling stages.
    converged : bool
        Whether the L1 marginal error reached ``tol``.
    marginal_error : float
        ``||P 1 - a||_1 + ||P^T 1 - b||_1`` of the returned potentials.
    eps : float
        Regularization used.
    a, b : ndarray
        The weights solved for.

    For a batch (a stack of cost matrices) every field has a leading batch
    axis: ``f`` is (B, n), ``transport_cost`` is (B,), and so on.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import sinkhorn
    >>> res = sinkhorn(None, None, np.array([[0.0, 1.0], [1.0, 0.0]]), eps=1.0)
    >>> res.converged, res.plan().sum(axis=1)
    (True, array([0.5, 0.5]))
    >>> bool(np.isclose(res.value, res.a @ res.f + res.b @ res.g))
    True
    """

    f: np.ndarray
    g: np.ndarray
    transport_cost: float
    value: float
    n_iter: int
    converged: bool
    marginal_error: float
    eps: float
    a: np.ndarray
    b: np.ndarray
    _cost: Callable = field(repr=False)
    _backend: ModuleType = field(repr=False)
    _gradient: Callable = field(default=None, repr=False)

    def plan(self):
        """Return the dense transport plan ``P`` of shape (n, m), or (B, n, m)."""
        C = self._cost()
        xp = self._backend.xp
        with np.errstate(divide="ignore"):
            log_a, log_b = xp.log(self.a), xp.log(self.b)
        return self._backend.plan_matrix(C, self.f, self.g, log_a, log_b, self.eps)

    def position_gradient(self):
        """Gradient of ``value`` with respect to the source points ``X``.

        ``sum_j P_ij grad_x c(x_i, y_j)`` (envelope theorem), for one problem
        solved by :func:`sinkhorn_points` with a built-in point metric. The
        online and multiscale modes form it from the points without the
        ``(n, m)`` plan, in the same memory as their solve.

        Returns
        -------
        grad_X : ndarray of shape (n, d)

        Examples
        --------
        >>> import numpy as np
        >>> from skwass.ot import sinkhorn_points
        >>> X = np.array([[0.0], [1.0]])
        >>> res = sinkhorn_points(X, X + 1, eps=0.1, mode="online")
        >>> res.position_gradient().round(3)
        array([[-1.],
               [-1.]])
        """
        if self._gradient is None:
            raise ValueError(
                "position_gradient needs one problem solved by sinkhorn_points with a "
                f"built-in point metric {POINT_METRICS} (not a batch, not sinkhorn's costs)."
            )
        return self._gradient(self)


# eps-scaling starts at most this many times above the target eps: Sinkhorn
# from a cold start converges fast while the cost range is within ~1000 eps
# (and over-relaxation handles the slow modes), each stage costs a kernel build.
_SCALING_RANGE = 1000.0


def _eps_schedule(eps, cost_range, eps_scaling):
    """Decreasing regularizations ending at ``eps``, from ``cost_range`` at most."""
    if eps_scaling is None or cost_range <= _SCALING_RANGE * eps:
        return [eps]
    eps_start = _SCALING_RANGE * eps
    factor = 0.5 if eps_scaling == "auto" else float(eps_scaling)
    stages = []
    current = eps_start
    while current > eps:
        stages.append(current)
        current *= factor
    return stages + [eps]


def _stage_budget(stages, tol, max_iter):
    """Tolerance and iteration cap of each stage; the last gets the rest."""
    loose = max(tol, 1e-3)
    per_stage = max(1, min(100, max_iter // (4 * len(stages))))
    return [(loose, per_stage)] * (len(stages) - 1) + [(tol, None)]


def _batch_schedule(eps, cost_range, eps_scaling):
    """eps stages of a batch: arrays ``(B,)``, one :func:`_eps_schedule` per problem.

    The schedules are aligned on the last stage; before a shorter schedule
    starts, its problem gets ``nan`` (the backends leave it alone then).
    """
    schedules = [
        _eps_schedule(e, r, eps_scaling) for e, r in zip(eps, cost_range, strict=True)
    ]
    n_stages = max(map(len, schedules))
    return [
        np.array([sched[s - n_stages + len(sched)] if s >= n_stages - len(sched) else np.nan
                  for sched in schedules])
        for s in range(n_stages)
    ]


def _stages(stages, tol, max_iter, n_iter):
    """The eps stages as ``(eps, tol, iteration budget, last)``.

    ``n_iter`` (iterations per problem so far) is read as the loop goes. The
    last stage always runs, with what is left of ``max_iter`` (possibly
    nothing), so that the potentials end exact at the target ``eps``.
    """
    for k, (stage_eps, (stage_tol, cap)) in enumerate(
        zip(stages, _stage_budget(stages, tol, max_iter), strict=True)
    ):
        last = k == len(stages) - 1
        budget = max(0, max_iter - int(np.max(n_iter))) if last else cap
        yield stage_eps, stage_tol, budget, last


def _host(backend, x):
    """A NumPy copy of a small argument (weights, eps, potentials); None stays None."""
    return None if x is None else backend.to_host(x)


def _host_eps(backend, eps):
    """eps as given when a number or a list, else as a NumPy array (0-d: a float)."""
    if isinstance(eps, (numbers.Real, list, tuple)):
        return eps
    eps = backend.to_host(eps)
    return float(eps) if eps.ndim == 0 and eps.dtype.kind in "fiu" else eps


def _batch_weights(w, B, n, name):
    """``None``, one shared vector or one per problem -> array (B, n)."""
    if w is None or np.ndim(w) == 1:
        return np.tile(check_weights(w, n, name), (B, 1))
    w = check_float_array(w, name, ndim=2, dtype=np.float64)
    if w.shape[0] != B:
        raise ValueError(f"{name} has {w.shape[0]} rows but the batch holds {B} problems.")
    return np.stack([check_weights(row, n, f"{name}[{k}]") for k, row in enumerate(w)])


def _batch_eps(eps, B):
    if np.ndim(eps) == 0:
        return np.full(B, check_eps(eps))
    eps = check_float_array(eps, "eps", ndim=1, dtype=np.float64)
    if eps.shape[0] != B:
        raise ValueError(f"eps has {eps.shape[0]} entries but the batch holds {B} problems.")
    if np.any(eps <= 0):
        raise ValueError("eps must be positive in every problem.")
    return eps


def _check_problem(backend, a, b, eps, init, shape, batch):
    """Host weights ``(B, n)``, ``(B, m)``, eps ``(B,)`` and warm start of ``shape`` problems.

    A single problem (``batch=False``) is a batch of one.
    """
    B, n, m = shape
    a, b, eps = _host(backend, a), _host(backend, b), _host_eps(backend, eps)
    if batch:
        return (_batch_weights(a, B, n, "a"), _batch_weights(b, B, m, "b"), _batch_eps(eps, B),
                _check_init(backend, init, (B, n), (B, m)))
    a, b, eps = check_weights(a, n, "a"), check_weights(b, m, "b"), check_eps(eps)
    init = _check_init(backend, init, (n,), (m,))
    return (a[None], b[None], np.array([eps]),
            None if init is None else (init[0][None], init[1][None]))


def _check_init(backend, init, f_shape, g_shape):
    """Validate a warm start ``(f, g)`` of shapes ``f_shape``, ``g_shape`` (on the host)."""
    if init is None:
        return None
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise ValueError("init must be a pair (f, g) of potentials or None.")
    ndim = len(f_shape)
    f0 = check_float_array(_host(backend, init[0]), "init[0] (f)", ndim=ndim,
                           dtype=np.float64)
    g0 = check_float_array(_host(backend, init[1]), "init[1] (g)", ndim=ndim,
                           dtype=np.float64)
    if f0.shape != f_shape or g0.shape != g_shape:
        raise ValueError(
            f"init potentials have shapes {f0.shape} and {g0.shape}; "
            f"expected {f_shape} and {g_shape}."
        )
    return f0, g0


def _plan_resolution(f, g, eps):
    """Bound on the L1 marginal error that rounding alone gives the plan of ``(f, g)``.

    ``f_i + g_j - C_ij`` is formed from float64 numbers as large as the
    potentials, so each ``exp((f_i + g_j - C_ij) / eps)`` is off by a relative
    ``~ 2 finfo.eps (|f_i| + |g_j|) / eps``; the solver's kernel and the
    returned plan each carry such an error, rows and columns both count.
    """
    scale = float(np.abs(f).max(initial=0.0) + np.abs(g).max(initial=0.0))
    return 8.0 * np.finfo(np.float64).eps * scale / eps


def _warn_if_not_converged(converged, n_iter, error, tol, resolution=0.0):
    if converged:
        return
    if resolution > tol:
        advice = (
            f"The potentials are so large against eps that float64 resolves the plan only "
            f"to about {resolution:.1g}: shift or rescale the costs, or increase eps or tol."
        )
    else:
        advice = "Increase max_iter or eps."
    warnings.warn(
        f"Sinkhorn did not converge in {n_iter} iterations: L1 marginal error "
        f"{error:.3g} > tol={tol:.3g}. {advice}",
        ConvergenceWarning,
        stacklevel=3,
    )


def _warn_if_batch_not_converged(converged, marginal_error, tol):
    if not converged.all():
        worst = int(np.argmax(marginal_error))
        warnings.warn(
            f"Sinkhorn did not converge on {int((~converged).sum())} of {converged.size} "
            f"problems (worst: problem {worst}, L1 marginal error "
            f"{marginal_error[worst]:.3g} > tol={tol:.3g}). Increase max_iter or eps.",
            ConvergenceWarning,
            stacklevel=4,
        )


def _result(backend, F, G, statistics, n_iter, tol, eps, a, b, cost, batch,
            truncated_mass=0.0, gradient=None):
    """The result from ``(B, n)``, ``(B, m)`` potentials whose rows are exact.

    ``statistics`` is ``(<P, C>, row sums, column sums)`` of the plans, ``a``,
    ``b`` and ``eps`` host arrays; ``truncated_mass`` bounds the mass of the
    pairs a truncated solver left out; ``gradient(result)`` is its
    :meth:`~SinkhornResult.position_gradient`. ``converged`` is judged on the returned
    plan's own marginal error, not on the solver's last in-loop estimate, so
    the two fields always agree. A single problem (``batch=False``) loses the
    batch axis.
    """
    xp = backend.xp
    if not bool(xp.isfinite(F).all() & xp.isfinite(G).all()):
        raise FloatingPointError(
            "Sinkhorn produced non-finite potentials: increase eps or rescale the costs."
        )
    transport_cost, rows, cols = statistics
    a, b = xp.asarray(a), xp.asarray(b)
    # Pairs a truncated solver dropped add at most their mass to both marginals.
    error = xp.abs(rows - a).sum(axis=1) + xp.abs(cols - b).sum(axis=1) + 2 * truncated_mass
    error_host = backend.to_host(error)
    converged = error_host <= tol
    value = (a * F).sum(axis=1) + (b * G).sum(axis=1)
    if batch:
        _warn_if_batch_not_converged(converged, error_host, tol)
        return SinkhornResult(
            f=F, g=G, transport_cost=transport_cost, value=value, n_iter=n_iter,
            converged=converged, marginal_error=error, eps=xp.asarray(eps), a=a, b=b,
            _cost=cost, _backend=backend,
        )
    _warn_if_not_converged(
        bool(converged[0]), int(n_iter[0]), float(error_host[0]), tol,
        _plan_resolution(backend.to_host(F[0]), backend.to_host(G[0]), float(eps[0])),
    )
    return SinkhornResult(
        f=F[0], g=G[0], transport_cost=float(transport_cost[0]), value=float(value[0]),
        n_iter=int(n_iter[0]), converged=bool(converged[0]),
        marginal_error=float(error_host[0]), eps=float(eps[0]), a=a[0], b=b[0], _cost=cost,
        _backend=backend, _gradient=gradient,
    )


def _log_weights(backend, *weights):
    """``log`` of host weights (``-inf`` for zeros), in the backend's namespace."""
    with np.errstate(divide="ignore"):
        return tuple(backend.xp.asarray(np.log(w)) for w in weights)


def _float32_floor(tol, dtype):
    return max(tol, _FLOAT32_TOL_FLOOR) if dtype == np.float32 else tol


def _cost_ranges(backend, C, a, b, full_range):
    """Range of each problem's costs over the support of its weights (host ``(B,)``);
    ``full_range`` is the range over all entries."""
    if (a > 0).all() and (b > 0).all():
        return full_range
    xp = backend.xp
    return np.array([
        float(backend.to_host(np.subtract(*cost_extremes(support))))
        for support in (C[k][xp.asarray(a[k] > 0)][:, xp.asarray(b[k] > 0)]
                        for k in range(C.shape[0]))
    ])


def _solve_stack(backend, a, b, C, eps, tol, max_iter, eps_scaling, init, batch,
                 gradient=None):
    """Solve the ``(B, n, m)`` stack ``C``; weights, ``eps`` and ``init`` on the host.

    ``gradient`` is passed to :func:`_result`.
    """
    xp = backend.xp
    B, n, m = C.shape
    tol = _float32_floor(tol, C.dtype)
    top, bottom = (backend.to_host(v).astype(np.float64) for v in cost_extremes(C))
    for scale, eps_k in zip(np.maximum(top, -bottom), eps, strict=True):
        check_cost_scale(scale, eps_k)
    log_a, log_b = _log_weights(backend, a, b)
    if init is None:
        F, G = xp.zeros((B, n)), xp.zeros((B, m))
        stages = _batch_schedule(eps, _cost_ranges(backend, C, a, b, top - bottom), eps_scaling)
    else:
        F, G = xp.array(init[0]), xp.array(init[1])
        stages = [eps]
    n_iter = np.zeros(B, dtype=np.int64)
    for stage_eps, stage_tol, budget, last in _stages(stages, tol, max_iter, n_iter):
        it, F, G, free = backend.sinkhorn_stack(C, log_a, log_b, stage_eps, F, G, stage_tol,
                                                budget, last)
        n_iter += it
    # The solver's free statistics come from its absorbed kernel; they describe
    # the plan that plan() forms from (F, G) only while rounding cannot tell the
    # two apart at this tolerance.
    if free is not None and all(
        _plan_resolution(F[k], G[k], eps[k]) <= 0.1 * tol for k in range(B)
    ):
        statistics = (free[0], a, free[1])
    else:
        if free is not None:
            F = backend.ctransform_rows(C, G, log_b, eps)
        statistics = backend.plan_statistics(C, F, G, log_a, log_b, eps)

    def cost():
        return C if batch else C[0]

    return _result(backend, F, G, statistics, n_iter, tol, eps, a, b, cost, batch,
                   gradient=gradient)


def _solve_symmetric(backend, a, C, eps, tol, max_iter):
    """``OT(a, a)`` for a symmetric ``(n, n)`` cost with the averaged symmetric update.

    Returns a result with ``f == g``. Used for the self terms of Sinkhorn
    divergences, where alternating Sinkhorn converges very slowly.
    """
    check_cost_scale(largest_cost(C), eps)
    tol = _float32_floor(tol, C.dtype)
    (log_a,) = _log_weights(backend, a)
    n_iter, f = backend.sinkhorn_symmetric(C, log_a, eps, backend.xp.zeros(a.shape[0]), tol,
                                           max_iter)
    F, log_a, eps = f[None], log_a[None], np.array([eps])
    statistics = backend.plan_statistics(C[None], F, F, log_a, log_a, eps)
    return _result(backend, F, F.copy(), statistics, np.array([n_iter]), tol, eps, a[None],
                   a[None], lambda: C, batch=False)


def _diameter(backend, X, Y, metric):
    """Largest possible cost between the clouds, from their common bounding box."""
    xp = backend.xp
    span = xp.maximum(X.max(axis=0), Y.max(axis=0)) - xp.minimum(X.min(axis=0), Y.min(axis=0))
    span = backend.to_host(span).astype(np.float64)
    # An overflow gives inf, which check_cost_scale then refuses.
    with np.errstate(over="ignore"):
        return {
            "sqeuclidean": float(span @ span),
            "euclidean": float(np.sqrt(span @ span)),
            "cityblock": float(span.sum()),
        }[metric]


def _solve_symmetric_points(backend, X, a, eps, metric, tol, max_iter):
    """:func:`_solve_symmetric` on the costs between the points ``X``, never stored."""
    check_cost_scale(_diameter(backend, X, X, metric), eps, X.dtype)
    tol = _float32_floor(tol, X.dtype)
    (log_a,) = _log_weights(backend, a)
    n_iter, f = backend.sinkhorn_symmetric_points(X, log_a, eps, backend.xp.zeros(a.shape[0]),
                                                  tol, max_iter, metric)
    statistics = backend.plan_statistics_points(X, X, f, f, log_a, log_a, eps, metric)
    return _result(backend, f[None], f[None].copy(), _as_batch(backend, statistics),
                   np.array([n_iter]), tol, np.array([eps]), a[None], a[None],
                   lambda: costs_of_points(backend, X, X, metric), batch=False,
                   gradient=_online_gradient(backend, X, X, log_a, log_a, metric))


def _online_gradient(backend, X, Y, log_a, log_b, metric):
    """``position_gradient`` of a result whose costs come from the points (no plan stored)."""
    return lambda res: backend.plan_cost_gradient_points(X, Y, res.f, res.g, log_a, log_b,
                                                         res.eps, metric)


def _as_batch(backend, statistics):
    """The statistics of one problem as those of a batch of one."""
    cost, rows, cols = statistics
    return backend.xp.asarray(cost).reshape(1), rows[None], cols[None]


def _resolve_mode(mode, metric, X, Y, backend):
    """``"dense"``, ``"online"`` or ``"multiscale"`` for ``mode``.

    ``"auto"`` is dense while the cost and kernel matrices fit in
    ``DENSE_MEMORY_LIMIT``; beyond, multiscale for clouds in at most
    ``MAX_DIMENSION`` dimensions on the CPU, online otherwise.
    """
    points_ok = isinstance(metric, str) and metric in POINT_METRICS
    low_dimensional = X.shape[1] <= MAX_DIMENSION
    if mode == "auto":
        if not (points_ok and 2 * X.shape[0] * Y.shape[0] * X.dtype.itemsize
                > DENSE_MEMORY_LIMIT):
            return "dense"
        return "multiscale" if low_dimensional and backend is numpy_backend else "online"
    if mode in ("online", "multiscale") and not points_ok:
        raise ValueError(f"mode={mode!r} supports metric in {POINT_METRICS}, got {metric!r}.")
    if mode == "multiscale" and not low_dimensional:
        raise ValueError(f"mode='multiscale' needs points in at most {MAX_DIMENSION} "
                         f"dimensions (its grid), got {X.shape[1]}; use mode='online'.")
    if mode == "multiscale" and backend is not numpy_backend:
        raise ValueError("mode='multiscale' runs on the CPU (NumPy arrays); use mode='online' "
                         "for device arrays.")
    return mode


def _solve_points(backend, X, Y, a, b, eps, metric, tol, max_iter, eps_scaling, init):
    """One problem with the costs between ``X`` and ``Y`` computed on the fly (online).

    Weights and ``init`` are host ``(1, n)``, ``(1, m)`` arrays, ``eps`` a float.
    """
    xp = backend.xp
    tol = _float32_floor(tol, X.dtype)
    log_a, log_b = _log_weights(backend, a[0], b[0])
    diameter = _diameter(backend, X, Y, metric)
    check_cost_scale(diameter, eps, X.dtype)
    if init is None:
        f, g = xp.zeros(X.shape[0]), xp.zeros(Y.shape[0])
        stages = _eps_schedule(eps, diameter, eps_scaling)
    else:
        f, g = xp.array(init[0][0]), xp.array(init[1][0])
        stages = [eps]
    n_iter = np.zeros(1, dtype=np.int64)
    for stage_eps, stage_tol, budget, _ in _stages(stages, tol, max_iter, n_iter):
        it, f, g = backend.sinkhorn_points(X, Y, log_a, log_b, stage_eps, f, g, stage_tol,
                                           budget, metric)
        n_iter += it
    statistics = backend.plan_statistics_points(X, Y, f, g, log_a, log_b, eps, metric)
    return _result(backend, f[None], g[None], _as_batch(backend, statistics), n_iter, tol,
                   np.array([eps]), a, b, lambda: costs_of_points(backend, X, Y, metric),
                   batch=False, gradient=_online_gradient(backend, X, Y, log_a, log_b, metric))


def _solve_multiscale(backend, X, Y, a, b, eps, metric, tol, max_iter, eps_scaling, init,
                      symmetric=False):
    """One problem by multiscale Sinkhorn (:mod:`skwass.ot._multiscale`).

    Host ``(1, n)``, ``(1, m)`` weights and ``init``, ``eps`` a float; with
    ``symmetric``, ``OT(a, a)`` (``Y`` is ``X``). Returns ``(result,
    problem)``: ``problem.cost_gradient(f, g)`` is ``sum_j P_ij grad_x c``.
    ``marginal_error`` counts twice the bound on the mass of the dropped pairs.
    """
    check_cost_scale(_diameter(backend, X, Y, metric), eps, X.dtype)
    tol = _float32_floor(tol, X.dtype)
    X = X.astype(np.float64, copy=False)
    Y = X if symmetric else Y.astype(np.float64, copy=False)

    def coarse(A, B, centroids_x, centroids_y):
        # The coarse potentials only start the points' solve, which corrects them.
        # Many cells are themselves solved by multiscale (coarser cells of the
        # cells), so that no cost matrix grows faster than the points; a level
        # that does not halve the points would recurse for ever.
        coarse_tol = max(tol, _COARSE_TOL)
        fewer = 2 * (A.shape[0] + B.shape[0]) <= X.shape[0] + Y.shape[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if A.shape[0] * B.shape[0] > _DENSE_COARSE_SIZE and fewer:
                res, _ = _solve_multiscale(backend, centroids_x, centroids_y, A[None], B[None],
                                           eps, metric, coarse_tol, max_iter, eps_scaling, None)
            else:
                res = _solve_stack(
                    backend, A[None], B[None],
                    costs_of_points(backend, centroids_x, centroids_y, metric)[None],
                    np.array([eps]), coarse_tol, max_iter, eps_scaling, None, batch=False)
        return res.f, res.g

    if symmetric:
        f, n_iter, problem = solve_symmetric_multiscale(
            # The cells' OT(A, A) is solved as any other: its (f, g) are the
            # symmetric potential shifted by +c and -c, and the block selection
            # reads f_i + f_j, so it is given their average.
            X, a[0], eps, metric, tol, max_iter, lambda A, c: sum(coarse(A, A, c, c)) / 2)
        g = f
    else:
        f, g, n_iter, problem = solve_multiscale(
            X, Y, a[0], b[0], eps, metric, tol, max_iter, coarse,
            None if init is None else (init[0][0], init[1][0]))
    cost, rows, cols = problem.statistics(f[problem.X.order], g[problem.Y.order])
    statistics = (np.array([cost]), problem.X.unsort(rows)[None], problem.Y.unsort(cols)[None])
    result = _result(backend, f[None], g[None], statistics, np.array([n_iter]), tol,
                     np.array([eps]), a, b, lambda: costs_of_points(backend, X, Y, metric),
                     batch=False, truncated_mass=problem.dropped,
                     gradient=lambda res: problem.cost_gradient(res.f, res.g))
    return result, problem


_SOLVER_PARAMS = {
    "tol": [Interval(numbers.Real, 0, None, closed="neither")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "eps_scaling": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="neither"), None],
    "init": [tuple, list, None],
}


@validate_params(
    {"a": ["array-like", None], "b": ["array-like", None], "C": ["array-like"],
     "eps": [Interval(numbers.Real, 0, None, closed="neither"), "array-like"],
     **_SOLVER_PARAMS},
    prefer_skip_nested_validation=True,
)
def sinkhorn(a, b, C, eps, *, tol=1e-9, max_iter=10_000, eps_scaling="auto", init=None):
    """Solve entropic optimal transport between two histograms.

    Minimizes ``<P, C> + eps * KL(P | a x b)`` over couplings of ``a`` and ``b``
    with stabilized, over-relaxed Sinkhorn iterations: one pass over an
    absorbed kernel per iteration (both matrix-vector products fused),
    log-domain c-transforms where it would underflow, and eps-scaling (from
    ``1000 eps`` when the cost range exceeds it, halving until ``eps``), so
    that tiny ``eps`` converge without NaN.

    Parameters
    ----------
    a : array-like of shape (n,) or (B, n), or None
        Source weights (non-negative, summing to 1); ``None`` is uniform. For a
        batch, one vector shared by all problems or one row per problem.
    b : array-like of shape (m,) or (B, m), or None
        Target weights; ``None`` is uniform.
    C : array-like of shape (n, m) or (B, n, m)
        Cost matrix; float32 input is solved in float32 (tolerance floor 1e-5).
        A stack of ``B`` matrices is a batch: the problems are solved together
        in float64, in parallel over problems (one thread each, the same
        solver as a single problem), and every field of the result gets a
        leading batch axis. CuPy arrays are solved on the GPU and the result
        holds CuPy arrays (see :ref:`gpu_and_batches`).
    eps : float or array-like of shape (B,)
        Entropic regularization, in cost units (> 0); one per problem for a
        batch (e.g. a grid of eps on the same costs).
    tol : float, default=1e-9
        Stop when the L1 marginal error is at most ``tol``.
    max_iter : int, default=10000
        Iteration budget over all eps stages.
    eps_scaling : "auto", float in (0, 1) or None, default="auto"
        Factor by which eps shrinks between stages (``"auto"`` is 0.5);
        ``None`` solves at ``eps`` directly. Ignored when ``init`` is given.
    init : tuple (f, g) or None
        Warm start from the potentials of a nearby problem.

    Returns
    -------
    result : SinkhornResult
        Potentials, ``transport_cost``, ``value``, diagnostics and ``plan()``.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` iterations do not reach ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import sinkhorn
    >>> C = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> res = sinkhorn([0.5, 0.5], [0.5, 0.5], C, eps=0.1)
    >>> round(res.transport_cost, 6), res.converged
    (4.5e-05, True)
    >>> res.plan().round(4)
    array([[0.5, 0. ],
           [0. , 0.5]])

    A batch: the same costs at three regularizations, solved together.

    >>> batch = sinkhorn(None, None, np.stack([C, C, C]), eps=[0.1, 1.0, 10.0])
    >>> batch.transport_cost.round(3), batch.f.shape
    (array([0.   , 0.269, 0.475]), (3, 2))
    """
    backend = get_backend(a, b, C, eps)
    batch = np.ndim(C) == 3
    C = check_float_array(C, "C", ndim=3 if batch else 2, dtype=np.float64 if batch else None)
    shape = C.shape if batch else (1,) + C.shape
    a, b, eps, init = _check_problem(backend, a, b, eps, init, shape, batch)
    return _solve_stack(backend, a, b, C if batch else C[None], eps, tol, max_iter,
                        eps_scaling, init, batch)


@validate_params(
    {**POINT_CLOUD_PARAMS, "Y": ["array-like", None],
     "eps": [Interval(numbers.Real, 0, None, closed="neither"), "array-like"],
     "metric": METRIC_PARAM,
     "mode": [StrOptions({"auto", "dense", "online", "multiscale"})], **_SOLVER_PARAMS},
    prefer_skip_nested_validation=True,
)
def sinkhorn_points(
    X, Y=None, a=None, b=None, *, eps, metric="sqeuclidean", mode="auto", tol=1e-9,
    max_iter=10_000, eps_scaling="auto", init=None,
):
    """Entropic optimal transport between two weighted point clouds.

    Parameters
    ----------
    X : array-like of shape (n, d) or (B, n, d)
        Source points (a 1-D array is one feature). A stack of ``B`` clouds
        makes a batch of ``B`` problems, as a stack of cost matrices does in
        :func:`sinkhorn`. CuPy arrays run on the GPU (see :ref:`gpu_and_batches`).
    Y : array-like of shape (m, d) or (B, m, d), or None
        Target points. In a batch, one 2-D cloud (or a 2-D ``X``) is shared by
        all ``B`` problems. ``None``: ``OT(a, a)``, ``X`` against itself, with
        symmetric updates (the self terms of :func:`sinkhorn_divergence`, where
        alternating updates converge far more slowly); then ``f == g``, and
        ``b``, ``init`` and a batch are refused.
    a, b : array-like or None
        Weights of ``X`` and ``Y``; ``None`` is uniform. For a batch, one
        vector shared by all problems or one row per problem.
    eps : float or array-like of shape (B,)
        Entropic regularization, in cost units; one per problem for a batch.
    metric : str or callable, default="sqeuclidean"
        Ground cost, see :func:`cost_matrix`.
    mode : {"auto", "dense", "online", "multiscale"}, default="auto"
        ``"dense"`` builds the cost matrix and calls :func:`sinkhorn`.
        ``"online"`` recomputes costs inside log-domain iterations and needs
        O(n + m) memory (built-in point metrics only). ``"multiscale"`` (CPU,
        built-in point metrics, at most 3 features) sorts the points into grid
        cells, solves the cells' problem, then iterates on the points over the
        pairs of cells that carry mass only; ``marginal_error`` includes a
        bound on the mass of the pairs left out (see :ref:`multiscale`).
        ``"auto"`` is dense when the cost and kernel matrices fit in 1 GiB,
        otherwise multiscale where it applies and online elsewhere. A batch is
        always solved dense (``"auto"`` means ``"dense"``; the other modes
        raise a ValueError): loop over the problems to solve large ones.
    tol, max_iter, eps_scaling, init
        As in :func:`sinkhorn`.

    Returns
    -------
    result : SinkhornResult
        For a batch every field has a leading batch axis.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import sinkhorn_points
    >>> X = np.array([[0.0], [1.0]])
    >>> dense = sinkhorn_points(X, X + 1, eps=0.1, mode="dense")
    >>> online = sinkhorn_points(X, X + 1, eps=0.1, mode="online")
    >>> round(dense.transport_cost, 6), round(online.transport_cost, 6)
    (1.000045, 1.000045)

    A batch: three source clouds against one shared target cloud.

    >>> batch = sinkhorn_points(np.stack([X, X + 1, X + 2]), X + 1, eps=0.1)
    >>> batch.transport_cost.round(3), batch.f.shape
    (array([1., 0., 1.]), (3, 2))

    A cloud against itself:

    >>> round(sinkhorn_points(X, None, eps=0.1).transport_cost, 6)
    4.5e-05
    """
    if Y is None:
        return _self_transport(X, a, b, eps, metric, mode, tol, max_iter, init)
    backend = get_backend(X, Y, a, b, eps)
    if np.ndim(X) == 3 or np.ndim(Y) == 3:
        return _solve_points_batch(
            backend, X, Y, a, b, eps, metric, mode, tol, max_iter, eps_scaling, init
        )
    X, Y = check_points(X, Y)
    n, m = X.shape[0], Y.shape[0]
    a, b, eps, init = _check_problem(backend, a, b, eps, init, (1, n, m), batch=False)
    mode = _resolve_mode(mode, metric, X, Y, backend)
    if mode == "online":
        return _solve_points(backend, X, Y, a, b, float(eps[0]), metric, tol, max_iter,
                             eps_scaling, init)
    if mode == "multiscale":
        return _solve_multiscale(backend, X, Y, a, b, float(eps[0]), metric, tol, max_iter,
                                 eps_scaling, init)[0]
    C = costs_of_points(backend, X, Y, metric)
    gradient = None
    if isinstance(metric, str) and metric in POINT_METRICS:
        gradient = partial(plan_cost_gradient, X=X, Y=Y, metric=metric)
    return _solve_stack(backend, a, b, C[None], eps, tol, max_iter, eps_scaling, init,
                        batch=False, gradient=gradient)


def _self_transport(X, a, b, eps, metric, mode, tol, max_iter, init):
    """``sinkhorn_points(X, None, a)``: ``OT(a, a)`` by symmetric updates."""
    for name, value in (("b", b), ("init", init)):
        if value is not None:
            raise ValueError(f"{name} must be None when Y is None (X against itself, "
                             "weights a).")
    if np.ndim(X) == 3:
        raise ValueError("Y=None (X against itself) takes one cloud, not a batch.")
    backend = get_backend(X, a, eps)
    X = check_float_array(X, "X", ndim=2, column=True)
    n = X.shape[0]
    a, _, eps, _ = _check_problem(backend, a, None, eps, None, (1, n, n), batch=False)
    return solve_self(backend, X, a[0], float(eps[0]), metric, tol, max_iter,
                      _resolve_mode(mode, metric, X, X, backend))


def solve_self(backend, X, a, eps, metric, tol, max_iter, mode):
    """``OT(a, a)`` between the points ``X`` and themselves, symmetric updates, in
    ``mode`` (resolved)."""
    if mode == "multiscale":
        return _solve_multiscale(backend, X, X, a[None], a[None], eps, metric, tol, max_iter,
                                 "auto", None, symmetric=True)[0]
    if mode == "online":
        return _solve_symmetric_points(backend, X, a, eps, metric, tol, max_iter)
    return _solve_symmetric(backend, a, costs_of_points(backend, X, X, metric), eps, tol,
                            max_iter)


def check_point_batches(X, Y):
    """Validate a batch of point-cloud pairs: ``(B, n, d)`` and ``(B, m, d)`` arrays.

    One of ``X``, ``Y`` may be a single 2-D cloud (1-D: one feature), shared
    by all problems; it is broadcast (a view, no copy).
    """
    X_batch, Y_batch = np.ndim(X) == 3, np.ndim(Y) == 3
    X = check_float_array(X, "X", ndim=3 if X_batch else 2, column=not X_batch)
    Y = check_float_array(Y, "Y", ndim=3 if Y_batch else 2, column=not Y_batch)
    if X_batch and Y_batch and X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X holds {X.shape[0]} point clouds but Y holds {Y.shape[0]}; a batch "
            "needs one Y per X (or one 2-D Y shared by all)."
        )
    if X.shape[-1] != Y.shape[-1]:
        raise ValueError(
            f"X and Y must have the same number of features, got {X.shape[-1]} "
            f"and {Y.shape[-1]}."
        )
    xp = get_backend(X, Y).xp
    B = X.shape[0] if X_batch else Y.shape[0]
    dtype = np.result_type(X.dtype, Y.dtype)
    X = xp.broadcast_to(X.astype(dtype, copy=False), (B,) + X.shape[-2:])
    Y = xp.broadcast_to(Y.astype(dtype, copy=False), (B,) + Y.shape[-2:])
    return X, Y


def _solve_points_batch(backend, X, Y, a, b, eps, metric, mode, tol, max_iter, eps_scaling,
                        init):
    """``sinkhorn_points`` on a batch: stack the cost matrices, solve together."""
    X, Y = check_point_batches(X, Y)
    if mode in ("online", "multiscale"):
        raise ValueError(
            f"mode={mode!r} does not take batches of point clouds (3-D X or Y); use "
            "mode='dense' or solve the problems one by one."
        )
    B, n, m = X.shape[0], X.shape[1], Y.shape[1]
    a, b, eps, init = _check_problem(backend, a, b, eps, init, (B, n, m), batch=True)
    C = backend.xp.stack([costs_of_points(backend, X[k], Y[k], metric) for k in range(B)])
    return _solve_stack(backend, a, b, C.astype(np.float64, copy=False), eps, tol, max_iter,
                        eps_scaling, init, batch=True)


def plan_cost_gradient(result, X, Y, metric):
    """``sum_j P_ij grad_x c(x_i, y_j)`` for the plan of ``result`` between ``X`` and ``Y``.

    The gradient of ``result.value`` with respect to the points ``X`` (envelope
    theorem), for a built-in point metric.
    """
    return result._backend.cost_gradient(result.plan(), X, Y, metric)


def centered_potential(result, which="f"):
    """Centered dual variable ``alpha*`` of Montavon et al. (2016), eqs. (3)-(5).

    The potential minus its mean under its own weights, so that
    ``<a, alpha> = 0``. It is the gradient of ``result.value`` (the
    ``<P, C> + eps * KL(P | a x b)`` convention) with respect to the weights
    along the simplex, and the per-sample cost that the Wasserstein RBM
    gradient (eq. 5) uses. The paper's ``W_gamma = <P, C> - gamma * H(P)``
    differs from ``value`` by ``eps * (H(a) + H(b))``, a function of the
    weights alone: its weight gradient adds ``eps * log a`` (centered) to
    ``alpha``.

    Parameters
    ----------
    result : SinkhornResult
        Output of :func:`sinkhorn` or :func:`sinkhorn_points`.
    which : {"f", "g"}, default="f"
        Center the source potential (under ``a``) or the target one (under ``b``).

    Returns
    -------
    alpha : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import centered_potential, sinkhorn
    >>> res = sinkhorn(None, None, np.array([[0.0, 2.0], [1.0, 0.0]]), eps=0.5)
    >>> alpha = centered_potential(res)
    >>> float(abs(alpha.mean())) < 1e-12
    True
    """
    if not isinstance(result, SinkhornResult):
        raise ValueError(
            f"result must be a SinkhornResult, got {type(result).__name__}."
        )
    if which == "f":
        potential, weights = result.f, result.a
    elif which == "g":
        potential, weights = result.g, result.b
    else:
        raise ValueError(f"which must be 'f' or 'g', got {which!r}.")
    return potential - weights @ potential
