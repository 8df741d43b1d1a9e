"""Metrics for generative models."""

from skwass.metrics._hamming import expected_hamming_error
from skwass.metrics._parzen import parzen_log_likelihood
from skwass.metrics._sharpness import conditional_variance, isolated_pixel_fraction

__all__ = [
    "conditional_variance",
    "expected_hamming_error",
    "isolated_pixel_fraction",
    "parzen_log_likelihood",
]
