"""
==================================================================
Smoothed Wasserstein losses favour shrunk models (Montavon Fig. 5)
==================================================================

Montavon, Mueller & Cuturi (2016), section 4.3: N = 100 points of N(0, I_10)
are compared with a sample of the model N(0, theta^2 I) for theta in [0, 1], with
the gamma-smoothed Wasserstein distance W_gamma (gamma = 0 is exact OT, here
through POT) and the cityblock or euclidean metric rescaled so that the mean
distance between pairs of points is 1. For every gamma the best model is a
shrunk one (theta < 1), and for large gamma it is the Dirac at the mean.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from skwass.covariance import GaussianShrinkageModel
from skwass.plotting import save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
GAMMAS = [1.0, 0.32, 0.1, 0.03, 0.01, 0.0]
thetas = np.linspace(0, 1, 11 if FAST else 51)
X = np.random.default_rng(0).normal(size=(100, 10))

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
print(f"{'metric':10s} {'gamma':>6s} {'argmin theta':>13s} {'fitted theta':>13s}")
for ax, metric in zip(axes, ["cityblock", "euclidean"], strict=True):
    for gamma in GAMMAS:
        model = GaussianShrinkageModel(eps=gamma, metric=metric, random_state=0)
        curve = model.loss_curve(X, thetas)
        model.fit(X)
        print(f"{metric:10s} {gamma:6.2f} {thetas[np.argmin(curve)]:13.2f} "
              f"{model.shrinkage_:13.3f}")
        ax.plot(thetas, curve, label=f"gamma = {gamma:.2f}")
        ax.plot(model.shrinkage_, model.loss_, "k.")
    ax.set_title(f"{metric} metric")
    ax.set_xlabel("model parameter theta")
axes[0].set_ylabel("W_gamma(p_theta, p)")
axes[1].legend()
fig.tight_layout()
save_figures("shrinkage_curves")  # also on disk, in $SKWASS_FIGURE_DIR or ./skwass-figures
plt.show()
