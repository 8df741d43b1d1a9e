"""Mixture models fitted by minimum Kantorovich estimation."""

from skwass.mixture._ellipse import EllipseMKE

__all__ = ["EllipseMKE"]
