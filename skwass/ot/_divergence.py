"""Sinkhorn divergences and losses between point clouds, with gradients.

Gradients come two ways:

* from converged potentials: the envelope theorem for the entropic value
  (``kind="dual"``) and implicit differentiation of the Sinkhorn fixed point for
  the transport cost (``kind="primal"``);
* from Genevay et al.'s algorithmic loss W_L (:func:`sinkhorn_loss`), reverse
  mode through exactly L Sinkhorn iterations, storing only the scalings.

Each returns the adjoint ``dL/dC`` of the cost matrix and ``dL/da``; the
chain rule to point positions is shared. The adjoints are written against the
backend's array namespace, so CuPy input runs all of this on the GPU.
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from skwass._backend import get_backend
from skwass.ot._costs import POINT_METRICS, costs_of_points
from skwass.ot._sinkhorn import (
    _check_problem,
    _resolve_mode,
    _solve_multiscale,
    _solve_points,
    _solve_stack,
    _solve_symmetric,
    solve_self,
)
from skwass.ot._validation import (
    METRIC_PARAM,
    POINT_CLOUD_PARAMS,
    check_cost_scale,
    check_points,
    largest_cost,
)

# ---------------------------------------------------------------------------
# Adjoints dL/dC and dL/da of one OT term
# ---------------------------------------------------------------------------


def _dual_adjoint(result, C, symmetric=False):
    """Envelope theorem: d value / dC = P, d value / da = f, d value / db = g."""
    return result.plan(), result.f, result.g


def _primal_adjoint(result, C, symmetric=False):
    """Implicit differentiation of ``<P, C>`` at the Sinkhorn fixed point.

    Writing the plan as ``exp((f + g - C) / eps)`` with the marginal
    constraints kept, ``dL/dC = P - P * (C - alpha_i - beta_j) / eps`` and
    ``dL/da = alpha``, ``dL/db = beta`` where ``(alpha, beta)`` make ``P * (C - alpha -
    beta)`` have zero row and column sums. With the conditionals
    ``Q = P / a`` and ``R = P / b`` that is ``alpha = rowmean_Q(C) - Q beta``
    and ``(I - R^T Q) beta = colmean_R(C) - R^T rowmean_Q(C)``, a system whose
    null vector (constants) is removed by the rank-one term ``1 b^T``.

    A ``symmetric`` problem (``OT(a, a)`` on a symmetric cost) has
    ``alpha = beta``, the solution of ``(I + Q) alpha = rowmean_Q(C)``. As eps
    shrinks its plan nears ``diag(a)``, so ``I - R^T Q`` nears zero (singular
    in float64 already at eps = 1% of the mean cost), while ``I + Q`` keeps its
    eigenvalues in (1, 2] (``Q`` is similar to a positive definite kernel).
    """
    backend = result._backend
    xp = backend.xp
    eps, a, b = result.eps, result.a, result.b
    n, m = C.shape
    with np.errstate(divide="ignore"):
        log_a, log_b = xp.log(a), xp.log(b)
    Q = backend.plan_matrix(C, result.f, result.g, xp.zeros(n), log_b, eps)
    row_mean = xp.einsum("ij,ij->i", Q, C)
    if symmetric:
        alpha = beta = xp.linalg.solve(xp.eye(n) + Q, row_mean)
    else:
        R = backend.plan_matrix(C, result.f, result.g, log_a, xp.zeros(m), eps)
        col_mean = xp.einsum("ij,ij->j", R, C)
        system = xp.eye(m) - R.T @ Q + xp.outer(xp.ones(m), b)
        beta = _solve_nearly_singular(xp, system, col_mean - R.T @ row_mean)
        alpha = row_mean - Q @ beta
    P = a[:, None] * Q
    grad_C = P * (1.0 - (C - alpha[:, None] - beta[None, :]) / eps)
    return grad_C, alpha, beta


def _solve_nearly_singular(xp, system, rhs):
    """``system^-1 rhs``, or a least-squares solution where ``system`` is singular.

    At small eps the plan splits into blocks joined by underflowed entries, and
    each block adds a null direction to the adjoint system: opposite constant
    shifts of ``alpha`` and ``beta`` on the block, which leave ``dL/dC``
    unchanged. LU stops on them; least squares (slower) picks one solution.
    """
    try:
        solution = xp.linalg.solve(system, rhs)
        if bool(xp.isfinite(solution).all()):
            return solution
    except np.linalg.LinAlgError:
        pass
    return xp.linalg.lstsq(system, rhs, rcond=None)[0]


def _unrolled_sinkhorn(C, a, b, eps, n_iter, with_grad=True):
    """Genevay et al. (2018) eq. (8), Algorithm 2, and its reverse mode.

    Runs ``u <- a / (K v)``, ``v <- b / (K^T u)`` exactly ``n_iter`` times from
    ``v = 1`` and returns ``(<P_L, C>, dL/dC, dL/da, dL/db)`` (the gradients
    are ``None`` without ``with_grad``, which skips the reverse sweep). Only the
    ``2 * n_iter`` scaling vectors are stored; the gradient with respect to the
    kernel is one product of those stacks. Row shifts of ``K`` leave ``P_L``
    unchanged and keep it from underflowing. When the scalings or the
    gradients still over- or underflow (small ``eps``), the same iterations are
    run in the log domain (:func:`_unrolled_sinkhorn_log`).
    """
    xp = get_backend(C).xp
    n, m = C.shape
    check_cost_scale(float(largest_cost(C)), eps)
    K = xp.exp(-(C - C.min(axis=1, keepdims=True)) / eps)
    us, vs, Kvs, KTus = [], [xp.ones(m)], [], []
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for _ in range(n_iter):
            Kvs.append(K @ vs[-1])
            us.append(a / Kvs[-1])
            KTus.append(K.T @ us[-1])
            vs.append(b / KTus[-1])
    u, v = us[-1], vs[-1]
    # Zero weights give zero scalings, legitimately; elsewhere a zero is underflow.
    if not (bool(xp.isfinite(u).all()) and bool(xp.isfinite(v).all())
            and bool((u[a > 0] > 0).all()) and bool((v[b > 0] > 0).all())):
        return _log_domain_fallback(C, a, b, eps, n_iter, with_grad)
    KC = K * C
    loss = float(u @ KC @ v)
    if not with_grad:
        return loss, None, None, None
    # Reverse sweep, seeded by loss = u^T (K * C) v. The kernel's adjoint is
    # a sum of outer products, collected as two stacks and formed by one GEMM.
    # Over/underflow in it is caught below and sends W_L to the log domain.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        grad_u = KC @ v
        grad_v = KC.T @ u
        grad_a = xp.zeros(n)
        grad_b = xp.zeros(m)
        left, right = [], []
        for ell in range(n_iter - 1, -1, -1):
            # v = b / (K^T u)
            grad_b += grad_v / KTus[ell]
            grad_t = -grad_v * vs[ell + 1] / KTus[ell]
            grad_u = grad_u + K @ grad_t
            left.append(us[ell])
            right.append(grad_t)
            # u = a / (K v_prev)
            grad_a += grad_u / Kvs[ell]
            grad_s = -grad_u * us[ell] / Kvs[ell]
            left.append(grad_s)
            right.append(vs[ell])
            grad_v = K.T @ grad_s
            grad_u = xp.zeros(n)
        grad_K = xp.column_stack(left) @ xp.column_stack(right).T + xp.outer(u, v) * C
        grad_C = xp.outer(u, v) * K - grad_K * K / eps
    if not all(bool(xp.isfinite(g).all()) for g in (grad_C, grad_a, grad_b)):
        # The reverse sweep divides by K v and K^T u, which can underflow even
        # where the scalings themselves stayed finite.
        return _log_domain_fallback(C, a, b, eps, n_iter, with_grad)
    return loss, grad_C, grad_a, grad_b


def _log_domain_fallback(C, a, b, eps, n_iter, with_grad):
    with np.errstate(over="ignore", invalid="ignore"):
        out = _unrolled_sinkhorn_log(C, a, b, eps, n_iter, with_grad)
    if all(g is None or bool(get_backend(C).xp.isfinite(g).all()) for g in out[1:]):
        return out
    raise FloatingPointError(
        f"The unrolled Sinkhorn gradient overflows at eps={eps:.3g}, even in the log "
        "domain (a zero-weight point far from the others): increase eps, drop the "
        "zero weights, or use sinkhorn_divergence without n_iter (log-stable)."
    )


def _lse(xp, Z, axis):
    """``log sum exp`` of ``Z`` along ``axis`` (rows of ``-inf`` give ``-inf``)."""
    top = Z.max(axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return xp.squeeze(xp.log(xp.exp(Z - top).sum(axis=axis, keepdims=True)) + top,
                          axis=axis)


def _unrolled_sinkhorn_log(C, a, b, eps, n_iter, with_grad=True):
    """:func:`_unrolled_sinkhorn` with the scalings kept as logs: no over/underflow.

    With ``alpha = eps log u = eps log a + A`` and ``beta = eps log v = eps log
    b + B`` the iterations read ``A = -eps LSE_j((beta_j - C_ij) / eps)`` and
    ``B = -eps LSE_i((alpha_i - C_ij) / eps)`` from ``beta = 0``. The reduced
    potentials ``A``, ``B`` stay finite where a weight is zero (``alpha =
    -inf``), and so does the reverse sweep written with them: the softmaxes
    (derivatives of the log-sum-exps) are ``a_i T_ij`` over a column and
    ``S_ij b_j`` over a row, ``T = exp((A_i + B_j - C_ij) / eps)`` and ``S``
    the same with the previous ``B``, and the adjoints of ``alpha`` and
    ``beta`` are carried divided by ``a`` and ``b`` (``dL/da`` is ``eps``
    times the former). ``O(n m)`` memory, four exponentials per entry and
    iteration (against two multiply-adds for the scalings), hence a fallback.
    """
    xp = get_backend(C).xp
    n, m = C.shape
    with np.errstate(divide="ignore"):
        log_a, log_b = xp.log(a), xp.log(b)
    As, Bs = [], []
    beta = xp.zeros(m)
    for _ in range(n_iter):
        As.append(-eps * _lse(xp, (beta[None, :] - C) / eps, axis=1))
        Bs.append(-eps * _lse(xp, (eps * log_a + As[-1])[:, None] / eps - C / eps, axis=0))
        beta = eps * log_b + Bs[-1]
    T = xp.exp((As[-1][:, None] + Bs[-1][None, :] - C) / eps)
    P = a[:, None] * T * b[None, :]
    PC = P * C
    loss = float(PC.sum())
    if not with_grad:
        return loss, None, None, None
    # Reverse sweep, seeded by loss = sum P * C with P = exp((alpha + beta - C) / eps);
    # adjoint_A is the adjoint of alpha over a, adjoint_B that of beta over b.
    grad_C = P - PC / eps
    adjoint_A = (T * C) @ b / eps
    adjoint_B = a @ (T * C) / eps
    grad_a = xp.zeros(n)
    grad_b = xp.zeros(m)
    for ell in range(n_iter - 1, -1, -1):
        # beta = eps log b - eps LSE_i((alpha_i - C_ij) / eps)
        grad_b += eps * adjoint_B
        T = xp.exp((As[ell][:, None] + Bs[ell][None, :] - C) / eps)
        adjoint_beta = b * adjoint_B
        grad_C += a[:, None] * T * adjoint_beta[None, :]
        adjoint_A = adjoint_A - T @ adjoint_beta
        # alpha = eps log a - eps LSE_j((beta_prev_j - C_ij) / eps), beta_prev = 0 first
        grad_a += eps * adjoint_A
        adjoint_alpha = a * adjoint_A
        previous_B = Bs[ell - 1] if ell > 0 else xp.zeros(m)
        S = xp.exp((As[ell][:, None] + previous_B[None, :] - C) / eps)
        grad_C += S * (b if ell > 0 else xp.ones(m))[None, :] * adjoint_alpha[:, None]
        adjoint_B = -(S.T @ adjoint_alpha)
        adjoint_A = xp.zeros(n)
    return loss, grad_C, grad_a, grad_b


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def _position_gradient(backend, grad_C, X, Y, metric, symmetric):
    """Chain rule from ``dL/dC`` to ``dL/dX`` (both slots when ``Y is X``)."""
    if symmetric:
        grad_C = grad_C + grad_C.T
    return backend.cost_gradient(grad_C, X, Y, metric)


def _points_divergence(backend, X, Y, a, b, eps, metric, kind, return_grad, tol, max_iter,
                       ot_yy, mode):
    """The divergence with every cost recomputed from the points (online or multiscale);
    ``OT(b, b)`` is ``ot_yy`` unless it is None.

    Dual gradients only: ``grad_X = G(P_xy) - G(P_xx)`` with
    ``G(P)_i = sum_j P_ij grad_x c(x_i, y_j)`` (the self term's plan is
    symmetric, so its two slots give twice half of it), ``grad_a = f_xy - f_xx``.
    """

    def solve(P, Q, w1, w2, symmetric):
        """The result, whose ``position_gradient()`` is ``G`` of its plan."""
        if symmetric:
            return solve_self(backend, P, w1, eps, metric, tol, max_iter, mode)
        if mode == "multiscale":
            return _solve_multiscale(backend, P, Q, w1[None], w2[None], eps, metric, tol,
                                     max_iter, "auto", None)[0]
        return _solve_points(backend, P, Q, w1[None], w2[None], eps, metric, tol, max_iter,
                             "auto", None)

    res_xy = solve(X, Y, a, b, symmetric=False)
    res_xx = solve(X, X, a, a, symmetric=True)
    field = "value" if kind == "dual" else "transport_cost"
    yy = ot_yy if ot_yy is not None else getattr(solve(Y, Y, b, b, symmetric=True), field)
    scale = 1.0 if kind == "dual" else 2.0
    divergence = scale * getattr(res_xy, field) - scale / 2 * (getattr(res_xx, field) + yy)
    if not return_grad:
        return divergence
    return (divergence, res_xy.position_gradient() - res_xx.position_gradient(),
            res_xy.f - res_xx.f)


def _check_point_pair(X, Y, a, b, eps):
    """Validated ``(backend, X, Y, a, b, eps)``: the clouds in their array library,
    the weights (NumPy) and ``eps`` on the host."""
    backend = get_backend(X, Y, a, b)
    X, Y = check_points(X, Y)
    a, b, eps, _ = _check_problem(backend, a, b, eps, None, (1, X.shape[0], Y.shape[0]),
                                  batch=False)
    return backend, X, Y, a[0], b[0], float(eps[0])


def _check_grad_metric(metric, return_grad):
    if return_grad and not (isinstance(metric, str) and metric in POINT_METRICS):
        raise ValueError(
            f"return_grad=True needs metric in {POINT_METRICS}, got {metric!r}."
        )


def _shape_like(grad_X, X_in):
    return grad_X.reshape(np.shape(X_in)) if np.ndim(X_in) == 1 else grad_X


@validate_params(
    {**POINT_CLOUD_PARAMS, "eps": [Interval(numbers.Real, 0, None, closed="neither")],
     "n_iter": [Interval(numbers.Integral, 1, None, closed="left")], "metric": METRIC_PARAM,
     "return_grad": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def sinkhorn_loss(X, Y, a=None, b=None, *, eps, n_iter=20, metric="sqeuclidean",
                  return_grad=False):
    """Genevay et al.'s algorithmic Sinkhorn loss W_L and its reverse-mode gradient.

    ``W_L = <P_L, C>`` where ``P_L = diag(u_L) K diag(v_L)`` comes from exactly
    ``L = n_iter`` Sinkhorn iterations started at ``v = 1`` (eq. 8, Algorithm 2).
    The gradient differentiates those L iterations, not the limit.

    Parameters
    ----------
    X : array-like of shape (n, d)
    Y : array-like of shape (m, d)
    a, b : array-like or None
        Weights (``None`` is uniform).
    eps : float
        Regularization in cost units. The iterations run on scalings; where
        those over/underflow (small ``eps``) they are redone in the log domain
        (slower, positive weights only; with a zero weight it is a
        ``FloatingPointError``).
    n_iter : int, default=20
        L, the number of Sinkhorn iterations (Genevay et al. use 20).
    metric : str or callable, default="sqeuclidean"
    return_grad : bool, default=False
        Also return ``(grad_X, grad_a)``; needs a built-in point metric.

    Returns
    -------
    loss : float
    grad_X : ndarray of shape (n, d)
        Only with ``return_grad``.
    grad_a : ndarray of shape (n,)
        Only with ``return_grad``; defined up to an additive constant.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import sinkhorn_loss
    >>> X = np.array([[0.0], [1.0]])
    >>> loss, grad_X, grad_a = sinkhorn_loss(X, X + 0.5, eps=0.05, return_grad=True)
    >>> round(loss, 4), grad_X.ravel().round(3)
    (0.25, array([-0.5, -0.5]))
    """
    X_in = X
    backend, X, Y, a, b, eps = _check_point_pair(X, Y, a, b, eps)
    _check_grad_metric(metric, return_grad)
    xp = backend.xp
    C = costs_of_points(backend, X, Y, metric).astype(np.float64, copy=False)
    loss, grad_C, grad_a, _ = _unrolled_sinkhorn(
        C, xp.asarray(a), xp.asarray(b), eps, n_iter, return_grad
    )
    if not return_grad:
        return loss
    grad_X = _position_gradient(backend, grad_C, X, Y, metric, symmetric=False)
    return loss, _shape_like(grad_X, X_in), grad_a


@validate_params(
    {**POINT_CLOUD_PARAMS, "eps": [Interval(numbers.Real, 0, None, closed="neither")],
     "metric": METRIC_PARAM, "kind": [StrOptions({"dual", "primal"})], "return_grad": ["boolean"],
     "n_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
     "mode": [StrOptions({"auto", "dense", "online", "multiscale"})],
     "tol": [Interval(numbers.Real, 0, None, closed="neither")],
     "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
     "ot_yy": [Interval(numbers.Real, None, None, closed="neither"), None]},
    prefer_skip_nested_validation=True,
)
def sinkhorn_divergence(X, Y, a=None, b=None, *, eps, metric="sqeuclidean", kind="dual",
                        return_grad=False, n_iter=None, tol=1e-9, max_iter=10_000, mode="auto",
                        ot_yy=None):
    """Debiased Sinkhorn divergence between two weighted point clouds.

    ``kind="dual"``: ``S = OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2`` on entropic
    values (``SinkhornResult.value``); tends to ``W_c`` as ``eps -> 0`` and to
    ``MMD_{-c} / 2`` as ``eps -> inf``.

    ``kind="primal"``: Genevay et al. (2018) eq. (4),
    ``2 W(a, b) - W(a, a) - W(b, b)`` on transport costs ``<P, C>``; tends to
    ``2 W_c`` and to ``MMD_{-c}``. With ``n_iter=L`` the three terms are the
    algorithmic losses W_L of :func:`sinkhorn_loss` (Algorithm 1).

    Parameters
    ----------
    X, Y, a, b
        The weighted point clouds, as in :func:`sinkhorn_loss`.
    eps : float
        Entropic regularization, in cost units.
    metric : str or callable, default="sqeuclidean"
    kind : {"dual", "primal"}, default="dual"
    return_grad : bool, default=False
        Also return ``(grad_X, grad_a)``: envelope theorem for ``"dual"``,
        implicit differentiation for ``"primal"``, reverse mode with ``n_iter``.
    n_iter : int or None, default=None
        Use L unrolled iterations (``kind="primal"`` only) instead of solving to
        convergence.
    tol, max_iter
        Passed to :func:`sinkhorn` when solving to convergence.
    mode : {"auto", "dense", "online", "multiscale"}, default="auto"
        ``"online"`` recomputes the costs in every pass instead of storing the
        three cost matrices (built-in point metrics; memory ``O(n + m)``);
        ``"multiscale"`` also visits only the pairs of grid cells that carry
        mass (CPU, at most 3 features). ``"auto"`` picks as
        :func:`sinkhorn_points` does, when the ``X``-``Y`` matrices would
        exceed 1 GiB. These modes have no unrolled ``n_iter`` and no
        ``kind="primal"`` gradients (they need the plan). On the GPU the
        gradient is formed a chunk of rows at a time.
    ot_yy : float or None, default=None
        ``OT(b, b)``, the value of ``Y`` against itself
        (``sinkhorn_points(Y, None, b, eps=eps, metric=metric).value``). It does
        not depend on ``X``: pass it when comparing many ``X`` with one ``Y``, and
        two problems are solved instead of three. ``kind="dual"`` only.

    Returns
    -------
    divergence : float
    grad_X, grad_a : ndarray of shapes (n, d) and (n,)
        Only with ``return_grad``; ``grad_a`` is defined up to an additive constant (only its
        action on zero-sum weight changes is meaningful).

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import sinkhorn_divergence
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> round(sinkhorn_divergence(X, X, eps=0.1), 10)
    0.0
    >>> round(sinkhorn_divergence(X, X + [0.0, 1.0], eps=0.01), 3)
    1.0
    >>> from skwass.ot import sinkhorn_points
    >>> ot_yy = sinkhorn_points(X + 1.0, None, eps=0.01).value
    >>> round(sinkhorn_divergence(X, X + 1.0, eps=0.01, ot_yy=ot_yy), 3)
    2.0
    """
    X_in = X
    backend, X, Y, a, b, eps = _check_point_pair(X, Y, a, b, eps)
    _check_grad_metric(metric, return_grad)
    if n_iter is not None and kind != "primal":
        raise ValueError("n_iter (the unrolled loss W_L) requires kind='primal'.")
    if ot_yy is not None and kind != "dual":
        raise ValueError("ot_yy is the entropic value OT(b, b) of kind='dual'; "
                         f"kind={kind!r} uses the transport cost of Y against itself.")
    mode = _resolve_mode(mode, metric, X, Y, backend)
    if mode != "dense":
        if n_iter is not None:
            raise ValueError(f"mode={mode!r} has no unrolled n_iter; use mode='dense'.")
        if return_grad and kind == "primal":
            raise ValueError("kind='primal' gradients need the transport plan (implicit "
                             "differentiation): use mode='dense'.")
        out = _points_divergence(backend, X, Y, a, b, eps, metric, kind, return_grad, tol,
                                 max_iter, ot_yy, mode)
        return out if not return_grad else (out[0], _shape_like(out[1], X_in), out[2])

    def solve_pair(w1, w2, C):
        return _solve_stack(backend, w1[None], w2[None], C[None], np.array([eps]), tol,
                            max_iter, "auto", None, batch=False)

    def solve_symmetric(w, C):
        return _solve_symmetric(backend, w, C, eps, tol, max_iter)

    xp = backend.xp

    adjoint = _dual_adjoint if kind == "dual" else _primal_adjoint
    pairs = {"xy": (X, Y, a, b), "xx": (X, X, a, a), "yy": (Y, Y, b, b)}
    terms = {}
    if ot_yy is not None:
        del pairs["yy"]
        terms["yy"] = (float(ot_yy), None, None)
    for key, (P1, P2, w1, w2) in pairs.items():
        C = costs_of_points(backend, P1, P2, metric)
        need_grad = return_grad and key != "yy"
        if n_iter is not None:
            C = C.astype(np.float64, copy=False)
            loss, grad_C, grad_w1, grad_w2 = _unrolled_sinkhorn(
                C, xp.asarray(w1), xp.asarray(w2), eps, n_iter, need_grad
            )
        else:
            symmetric = key != "xy" or (
                P1.shape == P2.shape and bool(xp.array_equal(P1, P2))
                and np.array_equal(w1, w2)
            )
            res = solve_symmetric(w1, C) if symmetric else solve_pair(w1, w2, C)
            loss = res.value if kind == "dual" else res.transport_cost
            grad_C, grad_w1, grad_w2 = (
                adjoint(res, C, symmetric) if need_grad else (None,) * 3
            )
        # In OT(a, a) both marginals are a: the weight gradient gets both slots.
        grad_w = grad_w1 + grad_w2 if key == "xx" and need_grad else grad_w1
        terms[key] = (loss, grad_C, grad_w)

    scale = 1.0 if kind == "dual" else 2.0
    divergence = scale * terms["xy"][0] - scale / 2 * (terms["xx"][0] + terms["yy"][0])
    if not return_grad:
        return divergence
    _, grad_C_xy, grad_a_xy = terms["xy"]
    _, grad_C_xx, grad_a_xx = terms["xx"]
    grad_X = scale * _position_gradient(backend, grad_C_xy, X, Y, metric, symmetric=False)
    grad_X -= scale / 2 * _position_gradient(backend, grad_C_xx, X, X, metric,
                                             symmetric=True)
    grad_a = scale * grad_a_xy - scale / 2 * grad_a_xx
    return divergence, _shape_like(grad_X, X_in), grad_a
