"""Matplotlib helpers used by the demo and the examples.

Every function draws into an existing matplotlib ``Axes`` (or a new
one on the current figure when ``ax`` is None) and returns it; none calls
``plt.show()``. Matplotlib is imported when these functions are called.
"""

from skwass.plotting._plots import (
    plot_binary_samples,
    plot_ellipsoids,
    plot_pca_samples,
    plot_reconstruction_errors,
    plot_shrinkage_curves,
    save_figures,
)

__all__ = [
    "plot_binary_samples",
    "plot_ellipsoids",
    "plot_pca_samples",
    "plot_reconstruction_errors",
    "plot_shrinkage_curves",
    "save_figures",
]
