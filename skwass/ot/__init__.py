"""Optimal transport: costs, Sinkhorn, divergences, exact OT and MMD.

Conventions: potentials are in cost units and the entropic plan is
``P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)``.
"""

from skwass.ot._costs import cost_matrix
from skwass.ot._divergence import sinkhorn_divergence, sinkhorn_loss
from skwass.ot._exact import wasserstein
from skwass.ot._mmd import mixture_mmd, mmd
from skwass.ot._sinkhorn import (
    SinkhornResult,
    centered_potential,
    sinkhorn,
    sinkhorn_points,
)

__all__ = [
    "SinkhornResult",
    "centered_potential",
    "cost_matrix",
    "mixture_mmd",
    "mmd",
    "sinkhorn",
    "sinkhorn_divergence",
    "sinkhorn_loss",
    "sinkhorn_points",
    "wasserstein",
]
