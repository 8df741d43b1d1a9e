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
# Entries of a block of kernel rows that, with its three companions, stays in
# a core's cache (4 x 256 KiB).
_BLOCK_ENTRIES = 2**15

# @validate_params constraints shared by mmd and mixture_mmd.
_MMD_PARAMS = {
    "bandwidth": [numbers.Real, "array-like"],
    "unbiased": ["boolean"],
    "return_grad": ["boolean"],
}


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
    # With the GM-WAE's 15 bandwidths and 1000 codes these passes are its
    # training cost, bound by memory traffic: in place, and on the CPU over
    # blocks of rows that stay in cache through all the bandwidths (timed
    # against whole-matrix temporaries by benchmarks/bench_wae.py). On a GPU,
    # one block.
    n_rows = P.shape[0] if backend.name != "numpy" else max(1, _BLOCK_ENTRIES // Q.shape[0])
    k, buffer = xp.empty((n_rows, Q.shape[0])), xp.empty((n_rows, Q.shape[0]))
    for start in range(0, P.shape[0], n_rows):
        rows = slice(start, start + n_rows)
        d, K_rows, slope_rows = sq_dist[rows], K[rows], slope[rows]
        k_rows, buffer_rows = k[:d.shape[0]], buffer[:d.shape[0]]
        for h in bandwidths:
            if kernel == "gaussian":  # k = exp(-d / (2 h^2)), slope = -k / h^2
                xp.multiply(d, -0.5 / (h * h), out=k_rows)
                xp.exp(k_rows, out=k_rows)
                K_rows += k_rows
                k_rows *= 1.0 / (h * h)
            else:  # imq: k = h / (h + d), slope = -2 k / (h + d)
                xp.add(d, h, out=buffer_rows)
                xp.divide(h, buffer_rows, out=k_rows)
                K_rows += k_rows
                k_rows /= buffer_rows
            slope_rows -= k_rows
    if kernel == "imq":
        slope *= 2.0
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


def _check_bandwidths(backend, bandwidth):
    """The bandwidths as a list of positive floats."""
    bandwidths = check_float_array(np.atleast_1d(_host(backend, bandwidth)), "bandwidth",
                                   ndim=1)
    if np.any(bandwidths <= 0):
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}.")
    return bandwidths.tolist()


def _drop_within_groups(M, group_size, xp):
    """Zero, in place, the entries of ``M`` between rows of one group.

    The groups are runs of ``group_size`` consecutive rows (and columns).
    """
    n_groups = M.shape[0] // group_size
    index = xp.arange(n_groups)
    M.reshape(n_groups, group_size, n_groups, group_size)[index, :, index, :] = 0.0


def _slope_contraction(S, u, P, v, Q, xp):
    """``u_i sum_j S_ij v_j (p_i - q_j)``: the gradient of ``sum_ij u_i v_j k(p_i, q_j)``
    with respect to ``p_i`` (``Q`` held fixed), with one product by ``S``."""
    SV = S @ xp.concatenate([v[:, None], v[:, None] * Q], axis=1)
    return u[:, None] * (SV[:, :1] * P - SV[:, 1:])


def _weighted_mmd(backend, X, Y, a, b, kernel, bandwidths, *, group_size=1, unbiased=False,
                  return_grad=False):
    """``MMD^2`` between ``sum_i a_i delta(X_i)`` and ``sum_j b_j delta(Y_j)``.

    ``unbiased=True`` drops the pairs within a group of ``group_size``
    consecutive rows of ``X`` and the ``i == j`` pairs of ``Y``, and scales
    the two within-sample sums by ``n / (n - 1)`` (``n`` groups) and
    ``m / (m - 1)``: the U-statistic for uniform weights over the groups.
    Returns the value, or the value and its gradients with respect to ``X``
    and to ``a`` (free, not renormalized).
    """
    xp = backend.xp
    if callable(kernel):
        K_xx, K_yy, K_xy = (_callable_kernel(kernel, P, Q) for P, Q in ((X, X), (Y, Y), (X, Y)))
    else:
        # The built-in kernels depend on x - y only: centering both samples
        # keeps the |x|^2 + |y|^2 - 2 x.y formula accurate far from the origin.
        center = 0.5 * (a @ X + b @ Y)
        X, Y = X - center, Y - center
        K_xx, S_xx = _kernel_and_slope(backend, X, X, kernel, bandwidths, same=True)
        K_yy, _ = _kernel_and_slope(backend, Y, Y, kernel, bandwidths, same=True)
        K_xy, S_xy = _kernel_and_slope(backend, X, Y, kernel, bandwidths, same=False)
    scale_x = scale_y = 1.0
    if unbiased:
        n, m = X.shape[0] // group_size, Y.shape[0]
        _drop_within_groups(K_xx, group_size, xp)
        xp.fill_diagonal(K_yy, 0.0)
        scale_x, scale_y = n / (n - 1), m / (m - 1)
    K_a, K_b = K_xx @ a, K_xy @ b
    value = float(scale_x * (a @ K_a) + scale_y * (b @ (K_yy @ b)) - 2.0 * (a @ K_b))
    if not return_grad:
        return value
    if unbiased:
        _drop_within_groups(S_xx, group_size, xp)
    # x_i sits in both slots of the within-X pairs, and k is symmetric.
    grad_X = 2.0 * (scale_x * _slope_contraction(S_xx, a, X, a, X, xp)
                    - _slope_contraction(S_xy, a, X, b, Y, xp))
    return value, grad_X, 2.0 * (scale_x * K_a - K_b)


@validate_params(
    {**POINT_CLOUD_PARAMS, "kernel": [StrOptions(set(KERNELS)), callable], **_MMD_PARAMS},
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

    See Also
    --------
    mixture_mmd : The MMD of a mixture posterior aggregated over data points.

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
    bandwidths = _check_bandwidths(backend, bandwidth)
    if callable(kernel) and return_grad:
        raise ValueError(
            "return_grad=True needs a built-in kernel; a callable kernel has no gradient."
        )
    out = _weighted_mmd(backend, X, Y, a, b, kernel, bandwidths, unbiased=unbiased,
                        return_grad=return_grad)
    if not return_grad:
        return out
    value, grad_X, _ = out
    return value, grad_X.reshape(X_shape)


@validate_params(
    {
        "Z": ["array-like"],
        "weights": ["array-like"],
        "Y": ["array-like"],
        "kernel": [StrOptions(set(KERNELS))],
        **_MMD_PARAMS,
    },
    prefer_skip_nested_validation=True,
)
def mixture_mmd(
    Z,
    weights,
    Y,
    *,
    kernel="gaussian",
    bandwidth=1.0,
    unbiased=False,
    return_grad=False,
):
    """Squared MMD between a mixture posterior aggregated over data points and a sample.

    Data point ``i`` contributes the codes ``Z[i, k]`` with the weights
    ``weights[i, k]`` (the probabilities ``q(k | x_i)``): the first
    distribution is ``sum_ik weights[i, k] delta(Z[i, k]) / n``, the
    aggregated posterior of a Gaussian-mixture Wasserstein autoencoder with
    the expectation over the component ``k`` taken exactly (Gaujac et al.
    2021, eq. 18). With one component it is :func:`mmd` of ``Z[:, 0]``.

    ``unbiased=True`` gives the U-statistic of Gretton et al. (2012): it
    drops the pairs of codes of one data point (they are not independent
    draws) and the ``i == j`` pairs of ``Y``.

    Parameters
    ----------
    Z : array-like of shape (n, n_components, d)
        The codes of each data point, one per mixture component.
    weights : array-like of shape (n, n_components)
        Non-negative weights of the codes; each row should sum to 1. They
        are used as given, not renormalized, so that ``grad_weights`` is the
        gradient with respect to free weights.
    Y : array-like of shape (m, d), or 1-D when ``d == 1``
        A sample of the target (the prior), uniformly weighted.
    kernel : {"gaussian", "imq", "energy"}, default="gaussian"
        As in :func:`mmd`.
    bandwidth : float or array-like of float, default=1.0
        As in :func:`mmd`: several bandwidths sum the kernels.
    unbiased : bool, default=False
        Return the U-statistic instead of the V-statistic (needs ``n >= 2``
        and ``m >= 2``).
    return_grad : bool, default=False
        Also return the gradients with respect to ``Z`` and ``weights``.

    Returns
    -------
    mmd2 : float
        The squared MMD estimate.
    grad_Z : ndarray of shape (n, n_components, d)
        Only with ``return_grad=True``.
    grad_weights : ndarray of shape (n, n_components)
        Only with ``return_grad=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from skwass.ot import mixture_mmd, mmd
    >>> rng = np.random.RandomState(0)
    >>> Z, Y = rng.normal(size=(5, 2, 3)), rng.normal(size=(6, 3))
    >>> value, grad_Z, grad_weights = mixture_mmd(
    ...     Z, np.full((5, 2), 0.5), Y, kernel="imq", unbiased=True, return_grad=True)
    >>> grad_Z.shape, grad_weights.shape
    ((5, 2, 3), (5, 2))
    >>> one = mixture_mmd(Z[:, :1], np.ones((5, 1)), Y, kernel="imq", unbiased=True)
    >>> bool(np.isclose(one, mmd(Z[:, 0], Y, kernel="imq", unbiased=True)))
    True
    """
    backend = get_backend(Z, weights, Y)
    xp = backend.xp
    Z = check_float_array(Z, "Z", ndim=3, dtype=np.float64)
    weights = check_float_array(weights, "weights", ndim=2, dtype=np.float64)
    Y = check_float_array(Y, "Y", ndim=2, dtype=np.float64, column=True)
    n, n_components, d = Z.shape
    m = Y.shape[0]
    if weights.shape != (n, n_components):
        raise ValueError(
            f"weights must have shape (n, n_components) = {(n, n_components)} as Z, got "
            f"{weights.shape}."
        )
    if bool((weights < 0).any()):
        raise ValueError("weights has negative entries.")
    if Y.shape[1] != d:
        raise ValueError(f"Y must have d = {d} features as Z, got {Y.shape[1]}.")
    if unbiased and (n < 2 or m < 2):
        raise ValueError(
            f"unbiased=True needs at least 2 data points in Z and in Y, got {n} and {m}."
        )
    bandwidths = _check_bandwidths(backend, bandwidth)
    out = _weighted_mmd(backend, Z.reshape(n * n_components, d), Y, weights.reshape(-1) / n,
                        xp.full(m, 1.0 / m), kernel, bandwidths, group_size=n_components,
                        unbiased=unbiased, return_grad=return_grad)
    if not return_grad:
        return out
    value, grad_codes, grad_a = out
    # The weights enter the first distribution divided by n.
    return value, grad_codes.reshape(Z.shape), grad_a.reshape(weights.shape) / n
