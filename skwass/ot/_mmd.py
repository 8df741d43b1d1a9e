"""Maximum mean discrepancy (Gretton et al. 2012) and its gradient."""

import numbers

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_params

from skwass._backend import get_backend
from skwass.ot._sinkhorn import _host
from skwass.ot._validation import (
    POINT_CLOUD_PARAMS,
    check_float_array,
    check_points,
    check_weights,
)

KERNELS = ("gaussian", "imq", "energy")


def _kernel_and_slope(backend, P, Q, kernel, bandwidths, same):
    """Kernel matrix ``K`` and ``S`` with ``grad_p k(p_i, q_j) = S_ij (p_i - q_j)``.

    ``same=True`` marks ``Q is P``: the diagonal distances are then exactly 0.
    For the energy kernel the gradient of ``-|p - q|`` at ``p == q`` is taken
    as 0.
    """
    xp = backend.xp
    if kernel == "energy":
        # Pair-by-pair differences: exact zeros, so no spurious slopes.
        dist = backend.pairwise_cost(P, Q, "euclidean")
        slope = xp.where(dist > 0, -1.0 / xp.where(dist > 0, dist, 1.0), 0.0)
        return -dist, slope
    sq_dist = backend.pairwise_cost(P, Q, "sqeuclidean")
    if same:
        xp.fill_diagonal(sq_dist, 0.0)
    K = xp.zeros_like(sq_dist)
    slope = xp.zeros_like(sq_dist)
    for h in bandwidths:
        if kernel == "gaussian":
            k = xp.exp(-sq_dist / (2.0 * h * h))
            slope -= k / (h * h)
        else:  # imq
            k = h / (h + sq_dist)
            slope -= 2.0 * k / (h + sq_dist)
        K += k
    return K, slope


def _callable_kernel(kernel, P, Q):
    """``kernel(P, Q)`` checked to be a finite ``(len(P), len(Q))`` matrix."""
    K = check_float_array(kernel(P, Q), "kernel(X, Y)", ndim=2, dtype=np.float64)
    if K.shape != (P.shape[0], Q.shape[0]):
        raise ValueError(
            f"The callable kernel returned shape {K.shape}; expected "
            f"{(P.shape[0], Q.shape[0])}."
        )
    return K


def _pair_weights(w, unbiased, xp=np):
    """Weights of the within-sample pairs: ``w w^T``, or the U-statistic's."""
    if not unbiased:
        return xp.outer(w, w)
    n = w.shape[0]
    weights = xp.full((n, n), 1.0 / (n * (n - 1)))
    xp.fill_diagonal(weights, 0.0)
    return weights


@validate_params(
    {
        **POINT_CLOUD_PARAMS,
        "kernel": [StrOptions(set(KERNELS)), callable],
        "bandwidth": [numbers.Real, "array-like"],
        "unbiased": ["boolean"],
        "return_grad": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def mmd(
    X,
    Y,
    a=None,
    b=None,
    *,
    kernel="gaussian",
    bandwidth=1.0,
    unbiased=False,
    return_grad=False,
):
    """Squared maximum mean discrepancy between two (weighted) point clouds.

    ``MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y)`` (Gretton et al. 2012;
    Genevay et al. 2018, eq. 2). The default is the weighted plug-in
    (V-statistic) estimate, which is never negative for the built-in kernels;
    ``unbiased=True`` gives the U-statistic, which drops the ``i == j`` terms of
    the within-sample averages and can be negative.

    Parameters
    ----------
    X, Y : array-like of shapes (n, d) and (m, d), or 1-D
        The two samples, with the same number of features (a 1-D array is
        points with one feature).
    a : array-like of shape (n,), default=None
        Probability weights of ``X``; ``None`` means uniform.
    b : array-like of shape (m,), default=None
        Probability weights of ``Y``; ``None`` means uniform.
    kernel : {"gaussian", "imq", "energy"} or callable, default="gaussian"
        ``"gaussian"``: ``k(x, y) = exp(-|x - y|^2 / (2 h^2))``.
        ``"imq"`` (inverse multiquadric, as in Tolstikhin et al. 2018 and
        Gaujac et al. 2021): ``k(x, y) = h / (h + |x - y|^2)``.
        ``"energy"``: ``k(x, y) = -|x - y|``, for which ``MMD^2`` is the
        energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|``; ``bandwidth``
        is ignored. A callable ``kernel(P, Q)`` gets two 2-D float arrays and
        returns their ``(len(P), len(Q))`` kernel matrix.
    bandwidth : float or array-like of float, default=1.0
        Positive bandwidth ``h``. Several bandwidths give the **sum** of the
        kernels over them (a mixture of kernels, as in GMMN and the GM-WAE).
    unbiased : bool, default=False
        Return the unbiased U-statistic instead of the V-statistic. Needs
        uniform weights (``a`` and ``b`` left to ``None``) and at least two
        points in each sample.
    return_grad : bool, default=False
        Also return the gradient of ``MMD^2`` with respect to the positions
        ``X`` (built-in kernels only).

    Returns
    -------
    mmd2 : float
        The squared MMD estimate.
    grad_X : ndarray of the shape of X
        Gradient with respect to ``X``; only with ``return_grad=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import mmd
    >>> round(mmd([0.0, 1.0], [0.5, 2.0]), 4)
    0.2122
    >>> round(mmd([0.0], [1.0], kernel="energy"), 4)
    2.0
    >>> value, grad = mmd([0.0, 1.0], [0.5, 2.0], kernel="imq", return_grad=True)
    >>> grad.shape
    (2,)
    """
    X_shape = np.shape(X)
    backend = get_backend(X, Y, a, b)
    xp = backend.xp
    X, Y = check_points(X, Y)
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    n, m = X.shape[0], Y.shape[0]
    if unbiased:
        if a is not None or b is not None:
            raise ValueError(
                "unbiased=True needs uniform weights: leave a and b to None."
            )
        if n < 2 or m < 2:
            raise ValueError(
                f"unbiased=True needs at least 2 points in X and in Y, got {n} and {m}."
            )
    a = xp.asarray(check_weights(_host(backend, a), n, "a"))
    b = xp.asarray(check_weights(_host(backend, b), m, "b"))
    bandwidths = check_float_array(np.atleast_1d(_host(backend, bandwidth)), "bandwidth",
                                   ndim=1)
    if np.any(bandwidths <= 0):
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}.")

    if callable(kernel):
        if return_grad:
            raise ValueError(
                "return_grad=True needs a built-in kernel; a callable kernel has no gradient."
            )
        K_xx, K_yy, K_xy = (_callable_kernel(kernel, P, Q) for P, Q in ((X, X), (Y, Y), (X, Y)))
    else:
        # The built-in kernels depend on x - y only: centering both samples
        # keeps the |x|^2 + |y|^2 - 2 x.y formula accurate far from the origin.
        center = 0.5 * (a @ X + b @ Y)
        X, Y = X - center, Y - center
        bandwidths = bandwidths.tolist()
        K_xx, S_xx = _kernel_and_slope(backend, X, X, kernel, bandwidths, same=True)
        K_yy, _ = _kernel_and_slope(backend, Y, Y, kernel, bandwidths, same=True)
        K_xy, S_xy = _kernel_and_slope(backend, X, Y, kernel, bandwidths, same=False)

    W_xx = _pair_weights(a, unbiased, xp)
    W_yy = _pair_weights(b, unbiased, xp)
    W_xy = xp.outer(a, b)
    value = float((W_xx * K_xx).sum() + (W_yy * K_yy).sum() - 2.0 * (W_xy * K_xy).sum())
    if not return_grad:
        return value

    # d/dx_i sum_kl W_kl k(x_k, x_l) = 2 sum_l W_il S_il (x_i - x_l): the
    # weights and the kernel are symmetric, so x_i's two slots count alike.
    G_xx = 2.0 * W_xx * S_xx
    G_xy = -2.0 * W_xy * S_xy
    grad_X = G_xx.sum(axis=1)[:, None] * X - G_xx @ X + G_xy.sum(axis=1)[:, None] * X - G_xy @ Y
    return value, grad_X.reshape(X_shape)
