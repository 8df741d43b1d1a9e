"""Small embedded data sets."""

from skwass.datasets._gandk import gandk_simulator, make_gandk
from skwass.datasets._mnist import load_mnist_small

__all__ = ["gandk_simulator", "load_mnist_small", "make_gandk"]
