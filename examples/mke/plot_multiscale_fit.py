"""
=====================================================================
Fitting 100,000 points with the full Sinkhorn divergence (multiscale)
=====================================================================

A :class:`~skwass.mke.MinimumKantorovichEstimator` fits a model to 100,000
points in 2-D through the Sinkhorn divergence between the whole data set and a
model sample of 10,000 points: no minibatches. The dense solver would need two
10,000 x 100,000 matrices (16 GB); past its 1 GiB limit
``sinkhorn_divergence`` switches to the multiscale mode (grid cells of the
kernel's width, only the pairs of cells that carry mass), and so do the
gradients, formed from the points without the transport plan. The data's
``OT(Y, Y)`` does not depend on the parameters: the fit solves it once.

The model pushes uniform noise ``u`` on the unit square through an affine map,
``x = c + L u`` with ``L`` lower triangular: the data are uniform on a
parallelogram. The fit starts from the unit square and is compared with the
true parameters, and with the same estimator fitted (densely) to a random
subsample of 3,000 points. With ``SKWASS_EXAMPLES_FAST=1`` the data have 1,000
points (solved densely) and the subsample 300.

At full size the fit is long: 1,060 s on two cores (each evaluation of the
loss solves a 10,000 x 100,000 problem in which each point still meets a
fifth of the other cloud at this eps); ``python
benchmarks/bench_mke_multiscale.py`` prints the time of one evaluation and of
the data's own problem. Its parameter error (0.018) was no better than the
subsample's (0.014): the error follows the size of the model sample, not that
of the data (``python benchmarks/mke_multiscale_ablation.py``).
"""

import os
import resource
import time

import matplotlib.pyplot as plt
import numpy as np

from skwass.mke import MinimumKantorovichEstimator
from skwass.plotting import save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
N_POINTS, N_SUBSAMPLE = (1_000, 300) if FAST else (100_000, 3_000)
N_MODEL = 10_000  # model points per evaluation, at most the data's
# theta = (c_1, c_2, L_11, L_21, L_22)
TRUE = np.array([0.2, -0.1, 1.0, 0.5, 0.8])


def affine(theta, u):
    c, (l11, l21, l22) = theta[:2], theta[2:]
    return c + np.column_stack([l11 * u[:, 0], l21 * u[:, 0] + l22 * u[:, 1]])


def affine_jacobian(theta, u):
    """d x_i / d theta, of shape (n, 2, 5)."""
    J = np.zeros((u.shape[0], 2, 5))
    J[:, 0, 0] = J[:, 1, 1] = 1.0
    J[:, 0, 2] = J[:, 1, 3] = u[:, 0]
    J[:, 1, 4] = u[:, 1]
    return J


def uniform_square(rng, n):
    return rng.uniform(size=(n, 2))


# The data's seed differs from the estimator's, whose noise would otherwise be the data's.
rng = np.random.RandomState(42)
X = affine(TRUE, uniform_square(rng, N_POINTS))


def fit(data):
    estimator = MinimumKantorovichEstimator(
        affine, theta0=[0.0, 0.0, 1.0, 0.0, 1.0], jac=affine_jacobian,
        bounds=[(None, None), (None, None), (1e-3, None), (None, None), (1e-3, None)],
        loss="sinkhorn_divergence", eps=0.0025, metric="sqeuclidean", noise=uniform_square,
        n_samples_simulated=min(N_MODEL, len(data)), max_iter=100, random_state=0,
        verbose=int(not FAST),  # the full-size fit takes a while: show its progress
    )
    start = time.perf_counter()
    estimator.fit(data)
    return estimator, time.perf_counter() - start


full, full_time = fit(X)
# ru_maxrss is in KiB on Linux.
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
subsample = X[rng.choice(N_POINTS, N_SUBSAMPLE, replace=False)]
sub, sub_time = fit(subsample)

print(f"{'':>24s} {'c_1':>7s} {'c_2':>7s} {'L_11':>7s} {'L_21':>7s} {'L_22':>7s}"
      f" {'|error|':>8s} {'time':>8s}")
print(f"{'true':>24s}" + "".join(f" {v:7.4f}" for v in TRUE))
for name, est, seconds in [(f"all {N_POINTS:,} points", full, full_time),
                           (f"subsample of {N_SUBSAMPLE:,}", sub, sub_time)]:
    error = np.linalg.norm(est.theta_ - TRUE)
    print(f"{name:>24s}" + "".join(f" {v:7.4f}" for v in est.theta_)
          + f" {error:8.4f} {seconds:7.1f}s   ({est.n_iter_} L-BFGS iterations)")
print(f"Peak resident memory after the fit on all points: {peak_mib:.0f} MiB")


def outline(theta):
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    return affine(theta, corners)


fig, ax = plt.subplots(figsize=(5.5, 4.5))
shown = X[:3000]
ax.scatter(shown[:, 0], shown[:, 1], s=2, color="0.6", label=f"data ({len(shown):,} shown)")
for theta, style, label in [(TRUE, "k-", "true"), (full.theta_, "C0--", "all points"),
                            (sub.theta_, "C3:", f"subsample of {N_SUBSAMPLE:,}")]:
    corners = outline(theta)
    ax.plot(corners[:, 0], corners[:, 1], style, linewidth=2, label=label)
ax.set_aspect("equal")
ax.set_title(f"Sinkhorn divergence fit on {N_POINTS:,} points")
ax.legend(loc="upper left", fontsize=8)
fig.tight_layout()
save_figures("multiscale_fit")  # also on disk, in $SKWASS_FIGURE_DIR or ./skwass-figures
plt.show()
