"""Log-domain Sinkhorn solvers: on point clouds (online and multiscale), symmetric,
and dense serial.

Conventions as in :mod:`skwass._kernels._transforms`; zero weights (``-inf``
logs) are allowed.
"""

import numba
import numpy as np

from skwass._kernels._blocks import all_pairs, ctransform_blocks
from skwass._kernels._relaxation import (
    OMEGA_MAX,
    adapt_omega,
    check_plain,
    relax_potential,
    restart_relaxation,
    side_error,
)
from skwass._kernels._transforms import (
    ctransform_cols_serial,
    ctransform_rows,
    ctransform_rows_serial,
)


@numba.njit(cache=True)
def sinkhorn_blocks(X, x_cluster, Y, y_cluster, rows, cols, log_a, log_b, eps, F, G, tol,
                    max_iter, code):
    """Over-relaxed log-domain Sinkhorn at one ``eps``, costs computed on the fly over
    the kept blocks.

    ``rows`` are the kept ranges of targets of ``X``'s clusters, ``cols`` those
    of ``Y``'s (:func:`~skwass._kernels._blocks.ctransform_blocks`).
    Alternates c-transforms ``F <- (1 - w) F + w T(G)``, ``G <- (1 - w) G + w T(F)``
    (the log-domain form of over-relaxed scalings, omega adapted as in
    :func:`sinkhorn_scaling`); memory is O(n + m). The marginals of the plan
    ``(F, G)`` before each update are read off the c-transforms for free:
    row sums are ``a_i exp((F_i - T(G)_i) / eps)`` and column sums
    ``b_j exp((G_j - T(F)_j) / eps)``. While relaxed it also checks the plan
    ``(T(G), G)`` that it returns now and then (:func:`check_plain`).
    Returns ``(n_iter, marginal_error)``; ``F`` and ``G`` are updated in place
    and ``F`` ends as the exact ``T(G)``.
    """
    omega = 1.0
    cap = OMEGA_MAX
    err_start = -1.0
    err = np.inf
    it = 0
    while it < max_iter:
        TG = ctransform_blocks(X, x_cluster, Y, rows, G, log_b, eps, code)
        if check_plain(it, omega, err, tol):
            TF = ctransform_blocks(Y, y_cluster, X, cols, TG, log_a, eps, code)
            plain_err = side_error(G, TF, log_b, eps)
            if plain_err <= tol:
                F[:] = TG
                return it, plain_err
        err = relax_potential(F, TG, log_a, eps, omega)
        TF = ctransform_blocks(Y, y_cluster, X, cols, F, log_a, eps, code)
        err += relax_potential(G, TF, log_b, eps, omega)
        it += 1
        if not err < np.inf:
            # A relaxed step overshot: restart from exact c-transforms, plainly.
            F[:] = ctransform_blocks(X, x_cluster, Y, rows, G, log_b, eps, code)
            omega, cap, err_start = restart_relaxation(cap)
            continue
        if err <= tol:
            break
        omega, cap, err_start = adapt_omega(it, err, err_start, omega, cap)
    F[:] = ctransform_blocks(X, x_cluster, Y, rows, G, log_b, eps, code)
    return it, err


@numba.njit(cache=True)
def sinkhorn_points(X, Y, log_a, log_b, eps, F, G, tol, max_iter, code):
    """:func:`sinkhorn_blocks` on every pair (online mode)."""
    x_cluster, rows = all_pairs(X.shape[0], Y.shape[0])
    y_cluster, cols = all_pairs(Y.shape[0], X.shape[0])
    return sinkhorn_blocks(X, x_cluster, Y, y_cluster, rows, cols, log_a, log_b, eps, F, G,
                           tol, max_iter, code)


@numba.njit(cache=True)
def sinkhorn_symmetric(C, log_a, eps, F, tol, max_iter):
    """Symmetric Sinkhorn for ``OT(a, a)`` (Feydy et al. 2019): ``F <- (F + T F) / 2``.

    ``T`` is the row c-transform with ``G = F``. Plain alternating Sinkhorn
    stalls on self-transport when ``eps`` is small against the distances
    between points (the plan is nearly diagonal, every mode of the iteration
    has a rate near 1); the averaged update converges in a few steps there.
    Row sums of the current plan are ``a_i exp((F_i - (T F)_i) / eps)``, so the
    L1 error costs nothing extra. Returns ``(n_iter, marginal_error)``.
    """
    err = np.inf
    it = 0
    while it < max_iter:
        err = _average_step(F, ctransform_rows(C, F, log_a, eps), log_a, eps)
        it += 1
        if err <= tol:
            break
    return it, err


@numba.njit(cache=True)
def _average_step(F, TF, log_a, eps):
    """``F <- (F + TF) / 2``; returns the L1 error of the plan before the step.

    Its row sums are ``a_i exp((F_i - (T F)_i) / eps)``, column sums the same
    (the plan is symmetric), hence the factor 2.
    """
    err = 0.0
    for i in range(F.shape[0]):
        a_i = np.exp(log_a[i])
        err += 2.0 * abs(a_i * np.exp((F[i] - TF[i]) / eps) - a_i)
        F[i] = 0.5 * (F[i] + TF[i])
    return err


@numba.njit(cache=True)
def sinkhorn_symmetric_blocks(X, x_cluster, ranges, log_a, eps, F, tol, max_iter, code):
    """:func:`sinkhorn_symmetric` with costs computed on the fly over the kept blocks
    (``ranges``: those of ``X``'s clusters into ``X``)."""
    err = np.inf
    it = 0
    while it < max_iter:
        err = _average_step(F, ctransform_blocks(X, x_cluster, X, ranges, F, log_a, eps, code),
                            log_a, eps)
        it += 1
        if err <= tol:
            break
    return it, err


@numba.njit(cache=True)
def sinkhorn_symmetric_points(X, log_a, eps, F, tol, max_iter, code):
    """:func:`sinkhorn_symmetric_blocks` on every pair (online mode)."""
    x_cluster, ranges = all_pairs(X.shape[0], X.shape[0])
    return sinkhorn_symmetric_blocks(X, x_cluster, ranges, log_a, eps, F, tol, max_iter, code)


@numba.njit(cache=True)
def sinkhorn_log_serial(C, log_a, log_b, eps, F, G, tol, max_iter):
    """Over-relaxed log-domain Sinkhorn on one dense problem, on one thread.

    The dense twin of :func:`sinkhorn_blocks` (same updates, same free error
    read-off, same adaptive omega); zero weights (``-inf`` logs) are allowed.
    Returns ``(n_iter, marginal_error)``; ``F`` ends as the exact ``T(G)``.
    """
    n, m = C.shape
    TG = np.empty(n)
    TF = np.empty(m)
    omega = 1.0
    cap = OMEGA_MAX
    err_start = -1.0
    err = np.inf
    it = 0
    while it < max_iter:
        ctransform_rows_serial(C, G, log_b, eps, TG)
        if check_plain(it, omega, err, tol):
            ctransform_cols_serial(C, TG, log_a, eps, TF)
            plain_err = side_error(G, TF, log_b, eps)
            if plain_err <= tol:
                F[:] = TG
                return it, plain_err
        err = relax_potential(F, TG, log_a, eps, omega)
        ctransform_cols_serial(C, F, log_a, eps, TF)
        err += relax_potential(G, TF, log_b, eps, omega)
        it += 1
        if not err < np.inf:
            ctransform_rows_serial(C, G, log_b, eps, F)
            omega, cap, err_start = restart_relaxation(cap)
            continue
        if err <= tol:
            break
        omega, cap, err_start = adapt_omega(it, err, err_start, omega, cap)
    ctransform_rows_serial(C, G, log_b, eps, F)
    return it, err
