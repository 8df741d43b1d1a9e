"""Exact (unregularized) optimal transport."""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from skwass.ot._costs import cost_matrix
from skwass.ot._validation import check_points, check_weights

# Costs that are convex increasing functions of |x - y| in 1-D, for which the
# monotone (sorted) coupling is optimal.
_SORTABLE = {"euclidean": 1, "cityblock": 1, "sqeuclidean": 2}


def _wasserstein_1d(x, y, a, b, power):
    """``min <P, |x - y|**power>`` by matching the weighted quantile functions."""
    order_x, order_y = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
    x, a = x[order_x], a[order_x]
    y, b = y[order_y], b[order_y]
    cdf_a, cdf_b = np.cumsum(a), np.cumsum(b)
    cdf_a[-1] = cdf_b[-1] = 1.0
    levels = np.union1d(cdf_a, cdf_b)
    mass = np.diff(levels, prepend=0.0)
    # Quantile at each level's interval: first atom whose CDF reaches the level.
    xq = x[np.minimum(np.searchsorted(cdf_a, levels, side="left"), x.size - 1)]
    yq = y[np.minimum(np.searchsorted(cdf_b, levels, side="left"), y.size - 1)]
    return float(mass @ np.abs(xq - yq) ** power)


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"], "a": ["array-like", None],
     "b": ["array-like", None],
     "metric": [StrOptions({"sqeuclidean", "euclidean", "cityblock", "hamming"}), callable],
     "p": [Interval(numbers.Real, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def wasserstein(X, Y, a=None, b=None, *, metric="euclidean", p=1):
    """Exact Wasserstein distance ``W_p = (min_P <P, D**p>)**(1/p)``.

    One-dimensional data with a Euclidean, cityblock or squared Euclidean ground
    distance is solved exactly by sorting in O((n + m) log(n + m)); everything
    else goes through POT's network simplex (``ot.emd2``).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Source points (a 1-D array is one feature).
    Y : array-like of shape (m, d)
        Target points.
    a, b : array-like or None
        Weights (``None`` is uniform); zero weights are allowed.
    metric : str or callable, default="euclidean"
        Ground distance ``D``, see :func:`cost_matrix`.
    p : float >= 1, default=1
        Exponent.

    Returns
    -------
    distance : float

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import wasserstein
    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 2.0])
    3.0
    """
    X, Y = check_points(X, Y)
    a = check_weights(a, X.shape[0], "a")
    b = check_weights(b, Y.shape[0], "b")
    if isinstance(metric, str) and metric in _SORTABLE and X.shape[1] == 1:
        power = _SORTABLE[metric] * p
        total = _wasserstein_1d(X[:, 0].astype(np.float64), Y[:, 0].astype(np.float64),
                                a, b, power)
    else:
        import ot

        D = cost_matrix(X, Y, metric=metric).astype(np.float64) ** p
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            total = float(ot.emd2(a, b, D, numItermax=10**7))
        for warning in caught:
            if "numItermax" in str(warning.message) or "converge" in str(
                warning.message
            ):
                warnings.warn(
                    f"POT's exact solver did not converge: {warning.message}",
                    ConvergenceWarning,
                    stacklevel=2,
                )
    return max(total, 0.0) ** (1.0 / p)
