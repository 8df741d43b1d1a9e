"""skwass: minimum Kantorovich estimation with a scikit-learn API.

Fit probabilistic models by minimizing a smoothed Wasserstein (Sinkhorn)
distance to the data. The optimal-transport core lives in :mod:`skwass.ot`;
the estimators are re-exported here.
"""

__version__ = "0.1.0.dev0"

from skwass import datasets, impute, metrics, ot
from skwass.covariance import GaussianShrinkageModel
from skwass.impute import RBMDenoiser, RBMImputer
from skwass.mixture import EllipseMKE
from skwass.mke import MinimumKantorovichEstimator
from skwass.neural_network import MixtureWAE, MLPGenerator, WassersteinRBM

__all__ = [
    "EllipseMKE",
    "GaussianShrinkageModel",
    "MLPGenerator",
    "MinimumKantorovichEstimator",
    "MixtureWAE",
    "RBMDenoiser",
    "RBMImputer",
    "WassersteinRBM",
    "__version__",
    "datasets",
    "impute",
    "metrics",
    "ot",
]
