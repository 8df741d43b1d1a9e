"""skwass: minimum Kantorovich estimation with a scikit-learn API.

Fit probabilistic models by minimizing a smoothed Wasserstein (Sinkhorn)
distance to the data. The optimal-transport core lives in :mod:`skwass.ot`;
the estimators are re-exported here.
"""

import os

# Idle OpenMP threads (Numba's parallel kernels, scikit-learn) spin only
# briefly, then sleep. Spinning for long (libgomp's default, 300000 spins) on
# a busy machine, or beside BLAS threads, took the cores from the thread doing
# the work; not spinning at all (PASSIVE alone) made every parallel region of
# a Sinkhorn iteration wait for sleeping threads to wake, about 2x per
# iteration at n = 1000. GOMP_SPINCOUNT, when set, replaces the policy's spin
# count. Read once, when the OpenMP runtime loads; a user's setting wins.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["GOMP_SPINCOUNT"] = "3000"

__version__ = "0.1.0.dev0"

from skwass import datasets, impute, metrics, ot  # noqa: E402
from skwass.covariance import GaussianShrinkageModel  # noqa: E402
from skwass.impute import RBMDenoiser, RBMImputer  # noqa: E402
from skwass.mixture import EllipseMKE  # noqa: E402
from skwass.mke import MinimumKantorovichEstimator  # noqa: E402
from skwass.neural_network import MLPGenerator, WassersteinRBM  # noqa: E402

__all__ = [
    "EllipseMKE",
    "GaussianShrinkageModel",
    "MLPGenerator",
    "MinimumKantorovichEstimator",
    "RBMDenoiser",
    "RBMImputer",
    "WassersteinRBM",
    "__version__",
    "datasets",
    "impute",
    "metrics",
    "ot",
]
