"""Metrics for generative models of binary data."""

from skwass.metrics._hamming import expected_hamming_error

__all__ = ["expected_hamming_error"]
