"""Covariance models fitted by minimum Kantorovich estimation."""

from skwass.covariance._shrinkage import GaussianShrinkageModel

__all__ = ["GaussianShrinkageModel"]
