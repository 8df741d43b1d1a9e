"""Metrics for generative models of binary data."""

from skwass.metrics._hamming import expected_hamming_error
from skwass.metrics._sharpness import conditional_variance, isolated_pixel_fraction

__all__ = ["conditional_variance", "expected_hamming_error", "isolated_pixel_fraction"]
