"""Minimum Kantorovich estimators for simulators (generative models)."""

from skwass.mke._estimator import MinimumKantorovichEstimator

__all__ = ["MinimumKantorovichEstimator"]
