"""Neural networks trained with optimal transport: RBMs and generative MLPs."""

from skwass.neural_network._generator import MLPGenerator
from skwass.neural_network._rbm import MAX_EXACT_FEATURES, WassersteinRBM, binary_states

__all__ = ["MAX_EXACT_FEATURES", "MLPGenerator", "WassersteinRBM", "binary_states"]
