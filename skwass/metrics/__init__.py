"""Metrics for generative models."""

from skwass.metrics._hamming import expected_hamming_error
from skwass.metrics._parzen import parzen_log_likelihood

__all__ = ["expected_hamming_error", "parzen_log_likelihood"]
