"""Restricted Boltzmann machines trained with optimal transport."""

from skwass.neural_network._rbm import MAX_EXACT_FEATURES, WassersteinRBM, binary_states

__all__ = ["MAX_EXACT_FEATURES", "WassersteinRBM", "binary_states"]
