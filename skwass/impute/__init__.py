"""Completion and denoising of binary data with a fitted restricted Boltzmann machine."""

from skwass.impute._rbm import (
    RBMDenoiser,
    RBMImputer,
    completion_distribution,
    denoise,
    denoising_distribution,
)

__all__ = [
    "RBMDenoiser",
    "RBMImputer",
    "completion_distribution",
    "denoise",
    "denoising_distribution",
]
