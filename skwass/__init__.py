"""skwass: minimum Kantorovich estimation with a scikit-learn API.

Fit probabilistic models by minimizing a smoothed Wasserstein (Sinkhorn)
distance to the data. The optimal-transport core lives in :mod:`skwass.ot`;
the estimators are re-exported here.
"""

import os

# Idle OpenMP threads (Numba's parallel kernels, scikit-learn) sleep instead of
# spinning: on a busy machine, or beside BLAS threads, spinning workers took
# the cores from the thread doing the work (a divergence with gradient ran 2x
# slower). Read once, when the OpenMP runtime loads; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0.dev0"

from skwass import datasets, impute, metrics, ot  # noqa: E402
from skwass.covariance import GaussianShrinkageModel  # noqa: E402
from skwass.impute import RBMDenoiser, RBMImputer  # noqa: E402
from skwass.mixture import EllipseMKE  # noqa: E402
from skwass.mke import MinimumKantorovichEstimator  # noqa: E402
from skwass.neural_network import WassersteinRBM  # noqa: E402

__all__ = [
    "EllipseMKE",
    "GaussianShrinkageModel",
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
