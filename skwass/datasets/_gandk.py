"""The g-and-k quantile distribution (Bernton et al. 2017's first example)."""

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


def _check_theta(theta):
    """``theta = (A, B, g, k)`` as a float array, finite, with ``B > 0`` and ``k > -1/2``."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (4,):
        raise ValueError(f"theta must be (A, B, g, k), got shape {theta.shape}.")
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"theta must be finite, got {theta.tolist()}.")
    if not theta[1] > 0 or not theta[3] > -0.5:
        raise ValueError(f"theta needs B > 0 and k > -1/2, got {theta.tolist()}.")
    return theta


def gandk_simulator(theta, noise, c=0.8):
    """Push standard normal noise through the g-and-k quantile function.

    ``x = A + B (1 + c tanh(g z / 2)) (1 + z^2)^k z`` with ``theta = (A, B, g, k)``;
    ``c tanh(g z / 2)`` is the usual ``c (1 - exp(-g z)) / (1 + exp(-g z))``.
    With ``z`` standard normal, ``x`` follows the g-and-k distribution.

    Parameters
    ----------
    theta : array-like of shape (4,)
        ``(A, B, g, k)``: location, scale (> 0), skewness, kurtosis (> -1/2).
    noise : array-like of shape (n_samples,) or (n_samples, 1)
        Standard normal draws ``z``.
    c : float, default=0.8
        The customary fixed constant.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)

    Examples
    --------
    >>> from skwass.datasets import gandk_simulator
    >>> gandk_simulator([3.0, 1.0, 2.0, 0.5], [0.0, 1.0]).ravel().round(4)
    array([3.    , 5.2759])
    """
    A, B, g, k = _check_theta(theta)
    z = np.asarray(noise, dtype=np.float64)
    if not (z.ndim == 1 or (z.ndim == 2 and z.shape[1] == 1)):
        raise ValueError(
            f"noise must have shape (n_samples,) or (n_samples, 1), got {z.shape}."
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("noise contains NaN or infinite values.")
    z = z.reshape(-1)
    x = A + B * (1.0 + c * np.tanh(g * z / 2.0)) * (1.0 + z * z) ** k * z
    return x[:, None]


@validate_params(
    {
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "theta": ["array-like"],
        "c": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_gandk(n_samples=100, theta=(3.0, 1.0, 2.0, 0.5), c=0.8, random_state=None):
    """Draw a sample of the g-and-k distribution.

    The g-and-k distribution is defined by its quantile function, so it is
    easy to simulate but has no closed-form density: a standard test case for
    likelihood-free inference (Bernton et al. 2017 use ``theta = (3, 1, 2, 0.5)``).

    Parameters
    ----------
    n_samples : int, default=100
        Number of points.
    theta : array-like of shape (4,), default=(3, 1, 2, 0.5)
        ``(A, B, g, k)``, see :func:`gandk_simulator`.
    c : float, default=0.8
        The fixed constant of the g-and-k family.
    random_state : int, RandomState instance or None, default=None
        Seeds the standard normal draws.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.datasets import make_gandk
    >>> X = make_gandk(1000, random_state=0)
    >>> X.shape
    (1000, 1)
    >>> bool(2.5 < float(np.median(X)) < 3.5)
    True
    """
    theta = _check_theta(theta)
    rng = check_random_state(random_state)
    return gandk_simulator(theta, rng.standard_normal(n_samples), c=c)
