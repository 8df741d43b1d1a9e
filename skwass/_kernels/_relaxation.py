"""Adaptive over-relaxation of Sinkhorn's iterations: the constants and the controller.

One schedule for every solver: the Numba kernels call these functions, and the
array-namespace solver (:mod:`skwass._backend._xp_sinkhorn`) calls the same
jitted controller from Python once per window.
"""

import numba
import numpy as np

# Over-relaxation (Thibault et al. 2017), adapted every RATE_WINDOW iterations:
# the error's contraction rate lam under the current omega gives the plain rate
# mu2 = (lam + omega - 1)**2 / (lam * omega**2) (Young's SOR relation), hence the
# optimum 2 / (1 + sqrt(1 - mu2)). Omega grows by at most OMEGA_STEP per
# window (far from the fixed point large omegas diverge); when the error more
# than doubles over a window omega is halved towards 1 and capped below.
RATE_WINDOW = 10


OMEGA_STEP = 0.3


LINEAR_REGIME = 1e-2


OMEGA_MAX = 1.99


# A window that contracts while omega sits at its cap raises the cap by this
# much (up to OMEGA_MAX): an overshoot lowers the cap by 0.05, and without a
# way back a transient early on pinned omega far below its optimum (a 50 x 50
# problem whose mass must cross a gap took 54,020 iterations, 2,780 with this).
CAP_RECOVERY = 0.01


@numba.njit(cache=True)
def relaxed(old, new, omega):
    """``old**(1 - omega) * new**omega``, written with one power."""
    if omega == 1.0:
        return new
    return old * (new / old) ** omega


@numba.njit(cache=True)
def next_omega(omega, cap, rate, err):
    """Return ``(omega, cap)`` after a window whose error contracted by ``rate``.

    Near the fixed point (L1 error below ``LINEAR_REGIME``) the iteration is
    linear and omega may jump to its estimated optimum at once.
    """
    if rate**RATE_WINDOW > 2.0:
        return 1.0 + 0.5 * (omega - 1.0), max(1.0, omega - 0.05)
    if rate >= 1.0 or rate <= 0.0:
        return omega, cap
    if omega >= cap:
        cap = min(OMEGA_MAX, cap + CAP_RECOVERY)
    plain_rate = min((rate + omega - 1.0) ** 2 / (rate * omega**2), 1.0 - 1e-12)
    optimum = 2.0 / (1.0 + np.sqrt(1.0 - plain_rate))
    step = OMEGA_STEP if err > LINEAR_REGIME else 1.0
    return min(optimum, omega + step, cap), cap


@numba.njit(cache=True)
def restart_relaxation(cap):
    """``(omega, cap, err_start)`` after an overshoot: plain steps, a lower cap."""
    return 1.0, 1.0 + 0.5 * (cap - 1.0), -1.0


@numba.njit(cache=True)
def adapt_omega(it, err, err_start, omega, cap):
    """Window bookkeeping shared by the solvers: ``(omega, cap, err_start)``.

    Every ``RATE_WINDOW`` iterations the contraction over the window updates
    omega (:func:`next_omega`) and the window restarts at the current error.
    """
    if it % RATE_WINDOW == 1:
        if err_start > 0.0:
            omega, cap = next_omega(omega, cap, (err / err_start) ** (1.0 / RATE_WINDOW), err)
        err_start = err
    return omega, cap, err_start


@numba.njit(cache=True)
def relax_potential(P, TP, log_w, eps, omega):
    """``P <- (1 - omega) P + omega TP`` in place, for log-domain Sinkhorn.

    ``TP`` is the c-transform of the other potential; returns the L1 error of
    this side's marginal before the step, ``sum_i |w_i exp((P_i - TP_i) / eps) - w_i|``
    (zero-weight points, ``log_w = -inf``, contribute nothing).
    """
    err = side_error(P, TP, log_w, eps)
    for i in range(P.shape[0]):
        P[i] = (1.0 - omega) * P[i] + omega * TP[i]
    return err


@numba.njit(cache=True)
def side_error(P, TP, log_w, eps):
    """L1 error ``sum_i |w_i exp((P_i - TP_i) / eps) - w_i|`` of one marginal."""
    err = 0.0
    for i in range(P.shape[0]):
        if log_w[i] > -np.inf:
            w = np.exp(log_w[i])
            err += abs(w * np.exp((P[i] - TP[i]) / eps) - w)
    return err


# While over-relaxed, the solvers also measure, every window and once within
# this factor of tol, the plan they would return (rows exact): relaxed steps
# can keep their own error estimate well above that plan's. Checking every
# iteration cost the dense solver 50% more per iteration at n = 1000.
PLAIN_CHECK_RANGE = 1000.0


@numba.njit(cache=True)
def check_plain(it, omega, err, tol):
    return omega != 1.0 and it % RATE_WINDOW == 0 and err <= PLAIN_CHECK_RANGE * tol
