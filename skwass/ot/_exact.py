"""Exact (unregularized) Wasserstein distances."""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from skwass.ot._costs import METRICS, cost_matrix
from skwass.ot._validation import check_points, check_weights

# Ground distances that are |x - y|**k in 1-D (k given here). With p >= 1 the
# cost |x - y|**(k * p) is a convex function of x - y, so the monotone
# (quantile) coupling is optimal and sorting solves the problem exactly.
_SORTABLE_POWER = {"euclidean": 1, "cityblock": 1, "sqeuclidean": 2}

# POT's network simplex reports an early stop with this phrase.
_POT_NOT_CONVERGED = "numItermax"


def _wasserstein_1d(x, y, a, b, power):
    """``min_P <P, |x - y|**power>`` for 1-D weighted samples, by sorting.

    The monotone coupling sends the mass between two consecutive CDF levels
    ``t`` of either sample from the ``t``-quantile of ``x`` to that of ``y``;
    the cost is the sum over those intervals of their length times
    ``|x_q - y_q|**power``.
    """
    order_x = np.argsort(x, kind="stable")
    order_y = np.argsort(y, kind="stable")
    x, a = x[order_x], a[order_x]
    y, b = y[order_y], b[order_y]
    cdf_x = np.cumsum(a)
    cdf_y = np.cumsum(b)
    # Exact 1.0 at the top, also for trailing atoms of zero weight.
    cdf_x /= cdf_x[-1]
    cdf_y /= cdf_y[-1]
    levels = np.union1d(cdf_x, cdf_y)
    interval_mass = np.diff(levels, prepend=0.0)
    # On (previous level, level] each quantile function is constant: it is the
    # first atom whose CDF reaches the level (always one of positive weight).
    x_quantile = x[np.minimum(np.searchsorted(cdf_x, levels, side="left"), x.size - 1)]
    y_quantile = y[np.minimum(np.searchsorted(cdf_y, levels, side="left"), y.size - 1)]
    return float(interval_mass @ np.abs(x_quantile - y_quantile) ** power)


def _emd2(a, b, M):
    """POT's exact OT cost, its non-convergence warning as a ``ConvergenceWarning``."""
    import ot

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        total = float(ot.emd2(a, b, M, numItermax=10**7))
    for warning in caught:
        message = str(warning.message)
        if _POT_NOT_CONVERGED in message:
            warnings.warn(
                "The network simplex (ot.emd2) stopped before optimality; the "
                f"distance is an upper bound. POT says: {message}",
                ConvergenceWarning,
                stacklevel=3,
            )
        else:
            warnings.warn(message, warning.category, stacklevel=3)
    return total


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "a": ["array-like", None],
        "b": ["array-like", None],
        "metric": [StrOptions(set(METRICS)), callable],
        "p": [Interval(numbers.Real, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def wasserstein(X, Y, a=None, b=None, *, metric="euclidean", p=1):
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

    Returns
    -------
    distance : float
        ``W_p(a, b)``.

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
    """
    X, Y = check_points(X, Y)
    a = check_weights(a, X.shape[0], "a")
    b = check_weights(b, Y.shape[0], "b")
    p = float(p)
    if isinstance(metric, str) and metric in _SORTABLE_POWER and X.shape[1] == 1:
        total = _wasserstein_1d(
            X[:, 0].astype(np.float64),
            Y[:, 0].astype(np.float64),
            a,
            b,
            _SORTABLE_POWER[metric] * p,
        )
    else:
        distance = cost_matrix(X, Y, metric=metric).astype(np.float64)
        if np.any(distance < 0):
            raise ValueError("metric returned negative distances; they must be >= 0.")
        total = _emd2(a, b, distance**p)
    return max(total, 0.0) ** (1.0 / p)
