"""Exact (unregularized) Wasserstein distances."""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, validate_params

from skwass._backend import get_backend
from skwass.ot._costs import POINT_METRICS, costs_of_points
from skwass.ot._validation import (
    METRIC_PARAM,
    POINT_CLOUD_PARAMS,
    check_points,
    check_weights,
)

# Ground distances that are |x - y|**k in 1-D (k given here). With p >= 1 the
# cost |x - y|**(k * p) is a convex function of x - y, so the monotone
# (quantile) coupling is optimal and sorting solves the problem exactly.
_SORTABLE_POWER = {"euclidean": 1, "cityblock": 1, "sqeuclidean": 2}

# POT's network simplex reports an early stop with this phrase.
_POT_NOT_CONVERGED = "numItermax"


def _wasserstein_1d(x, y, a, b, power, return_grad):
    """``min_P <P, |x - y|**power>`` for 1-D weighted samples, by sorting.

    The monotone coupling sends the mass between two consecutive CDF levels
    ``t`` of either sample from the ``t``-quantile of ``x`` to that of ``y``;
    the cost is the sum over those intervals of their length times
    ``|x_q - y_q|**power``. With ``return_grad`` also its gradient with respect
    to ``x``, the coupling held fixed. Returns ``(total, gradient or None)``.
    """
    order_x = np.argsort(x, kind="stable")
    order_y = np.argsort(y, kind="stable")
    x_sorted, a = x[order_x], a[order_x]
    y_sorted, b = y[order_y], b[order_y]
    cdf_x = np.cumsum(a)
    cdf_y = np.cumsum(b)
    # Exact 1.0 at the top, also for trailing atoms of zero weight.
    cdf_x /= cdf_x[-1]
    cdf_y /= cdf_y[-1]
    levels = np.union1d(cdf_x, cdf_y)
    interval_mass = np.diff(levels, prepend=0.0)
    # On (previous level, level] each quantile function is constant: it is the
    # first atom whose CDF reaches the level (always one of positive weight).
    ix = np.minimum(np.searchsorted(cdf_x, levels, side="left"), x.size - 1)
    iy = np.minimum(np.searchsorted(cdf_y, levels, side="left"), y.size - 1)
    diff = x_sorted[ix] - y_sorted[iy]
    total = float(interval_mass @ np.abs(diff) ** power)
    if not return_grad:
        return total, None
    slope = interval_mass * power * np.abs(diff) ** (power - 1) * np.sign(diff)
    grad = np.zeros(x.size)
    grad[order_x] = np.bincount(ix, weights=slope, minlength=x.size)
    return total, grad


def _emd(a, b, M, plan=False):
    """POT's exact OT cost, or plan, its non-convergence warning as a ``ConvergenceWarning``."""
    import ot

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = ot.emd(a, b, M, numItermax=10**7) if plan else float(
            ot.emd2(a, b, M, numItermax=10**7))
    for warning in caught:
        message = str(warning.message)
        if _POT_NOT_CONVERGED in message:
            warnings.warn(
                f"The network simplex (ot.{'emd' if plan else 'emd2'}) stopped before "
                "optimality; the "
                f"distance is an upper bound. POT says: {message}",
                ConvergenceWarning,
                stacklevel=3,
            )
        else:
            warnings.warn(message, warning.category, stacklevel=3)
    return out


@validate_params(
    {
        **POINT_CLOUD_PARAMS,
        "metric": METRIC_PARAM,
        "p": [Interval(numbers.Real, 1, None, closed="left")],
        "return_grad": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def wasserstein(X, Y, a=None, b=None, *, metric="euclidean", p=1, return_grad=False):
    """Exact Wasserstein distance ``W_p = (min_P <P, D**p>)**(1/p)``.

    ``P`` ranges over the couplings of the weights ``a`` and ``b`` and ``D`` is
    the ground distance between the points. One-feature data with the
    ``"euclidean"``, ``"cityblock"`` or ``"sqeuclidean"`` metric is solved
    exactly by sorting in ``O((n + m) log(n + m))``: the monotone coupling is
    optimal for these costs. Everything else builds the ``(n, m)`` matrix
    ``D**p`` and calls POT's network simplex (``ot.emd2``).

    Parameters
    ----------
    X : array-like of shape (n, d) or (n,)
        Source points; a 1-D array is ``n`` points with one feature.
    Y : array-like of shape (m, d) or (m,)
        Target points, with the same number of features as ``X``.
    a : array-like of shape (n,), default=None
        Probability weights of ``X`` (non-negative, summing to 1; zeros are
        allowed). ``None`` means uniform.
    b : array-like of shape (m,), default=None
        Probability weights of ``Y``, as ``a``.
    metric : {"euclidean", "sqeuclidean", "cityblock", "hamming"} or callable, \
default="euclidean"
        Ground distance ``D``, as in :func:`skwass.ot.cost_matrix`. A callable
        gets the two 2-D float arrays and returns the ``(n, m)`` matrix.
    p : float >= 1, default=1
        Order of the distance.
    return_grad : bool, default=False
        Also return the gradient with respect to ``X`` with the optimal
        coupling held fixed (a subgradient where that coupling is not unique);
        needs a built-in point metric (not ``"hamming"``).

    Returns
    -------
    distance : float
        ``W_p(a, b)``.
    grad_X : ndarray of shape (n, d)
        Only with ``return_grad``.

    Warns
    -----
    ConvergenceWarning
        If the network simplex stops on its iteration limit.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import wasserstein
    >>> round(wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 2.0]), 4)
    3.0
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> Y = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> round(wasserstein(X, Y, p=2), 4)
    1.0
    >>> distance, grad_X = wasserstein(X, Y, p=2, return_grad=True)
    >>> grad_X
    array([[ 0. , -0.5],
           [ 0. , -0.5]])
    """
    if return_grad and not (isinstance(metric, str) and metric in POINT_METRICS):
        raise ValueError(f"return_grad=True needs metric in {POINT_METRICS}, got {metric!r}.")
    backend = get_backend(X, Y)
    X, Y = check_points(X, Y)
    a = check_weights(a, X.shape[0], "a")
    b = check_weights(b, Y.shape[0], "b")
    p = float(p)
    if isinstance(metric, str) and metric in _SORTABLE_POWER and X.shape[1] == 1:
        total, grad = _wasserstein_1d(
            X[:, 0].astype(np.float64),
            Y[:, 0].astype(np.float64),
            a,
            b,
            _SORTABLE_POWER[metric] * p,
            return_grad,
        )
        grad = None if grad is None else grad[:, None]
    else:
        distance = costs_of_points(backend, X, Y, metric).astype(np.float64)
        if np.any(distance < 0):
            raise ValueError("metric returned negative distances; they must be >= 0.")
        if return_grad:
            plan = _emd(a, b, distance**p, plan=True)
            total = float(np.sum(plan * distance**p))
            # d D**p = p D**(p - 1) dD, then the chain rule to the points.
            weight = plan * p * distance ** (p - 1) if p != 1 else plan
            grad = backend.cost_gradient(weight, X, Y, metric)
        else:
            total = _emd(a, b, distance**p)
    value = max(total, 0.0) ** (1.0 / p)
    if not return_grad:
        return value
    # d total**(1/p) = total**(1/p - 1) / p d total
    factor = total ** (1.0 / p - 1.0) / p if total > 0 else 0.0
    return value, factor * grad
