"""Parzen-window log-likelihood of held-out data under a generator's sample."""

import numbers

import numpy as np
from scipy.special import logsumexp
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_array

from skwass.ot import cost_matrix


@validate_params(
    {"X": ["array-like"], "samples": ["array-like"],
     "bandwidth": [Interval(numbers.Real, 0, None, closed="neither"), "array-like"],
     "batch_size": [Interval(numbers.Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def parzen_log_likelihood(X, samples, bandwidth, *, batch_size=500):
    """Mean log-density of ``X`` under a Gaussian Parzen window on ``samples``.

    ``log p(x) = logsumexp_i(-|x - s_i|^2 / (2 h^2)) - log n - d/2 log(2 pi h^2)``,
    the protocol of Goodfellow et al. (2014) and Li et al.'s GMMN (2015) for
    generators without a likelihood: draw ``samples`` from the model, choose
    ``h`` on a validation split, report the mean on the test split.

    Parameters
    ----------
    X : array-like of shape (n_points, n_features)
        Held-out data.
    samples : array-like of shape (n_samples, n_features)
        Model sample, the window centers.
    bandwidth : float or array-like of float
        ``h``; several bandwidths give one mean per bandwidth.
    batch_size : int, default=500
        Rows of ``X`` per block of squared distances (memory
        ``batch_size * n_samples``).

    Returns
    -------
    log_likelihood : float or ndarray of shape (n_bandwidths,)

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.metrics import parzen_log_likelihood
    >>> round(parzen_log_likelihood([[0.0]], [[0.0]], 1.0), 4)  # log N(0; 0, 1)
    -0.9189
    """
    X = check_array(X, dtype=np.float64)
    samples = check_array(samples, dtype=np.float64)
    if X.shape[1] != samples.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but samples have {samples.shape[1]}."
        )
    h = np.atleast_1d(np.asarray(bandwidth, dtype=np.float64))
    if h.ndim != 1 or not np.all(h > 0):
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}.")
    n, d = samples.shape
    total = np.zeros(h.size)
    for start in range(0, X.shape[0], batch_size):
        D = cost_matrix(X[start:start + batch_size], samples, metric="sqeuclidean")
        for k, hk in enumerate(h):
            total[k] += logsumexp(-D / (2 * hk * hk), axis=1).sum()
    mean = total / X.shape[0] - np.log(n) - 0.5 * d * np.log(2 * np.pi * h * h)
    return float(mean[0]) if np.ndim(bandwidth) == 0 else mean
