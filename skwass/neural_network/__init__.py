"""Neural networks trained with optimal transport: RBMs, generative MLPs, mixture WAEs."""

from skwass.neural_network._generator import MLPGenerator
from skwass.neural_network._rbm import MAX_EXACT_FEATURES, WassersteinRBM, binary_states
from skwass.neural_network._wae import MixtureWAE

__all__ = ["MAX_EXACT_FEATURES", "MLPGenerator", "MixtureWAE", "WassersteinRBM", "binary_states"]
