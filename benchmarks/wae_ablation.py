"""Ablations of the MixtureWAE on the 8x8 digits, in the setting of
``examples/neural_network/plot_mixture_wae.py`` (same split, networks, Adam
2e-3, 40 epochs, seed 0): one change at a time.

Usage: ``python benchmarks/wae_ablation.py [variant ...]`` with variants
``baseline`` (Gaussian encoder, lam = 500 * 64 / 784), ``lam500`` (the
paper's lam = 500 as is) and ``deterministic`` (``encoder="deterministic"``).
Each variant takes about 15 minutes on two heavily shared cores (three at once).
"""

import sys
import time
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, confusion_matrix
from sklearn.model_selection import train_test_split

from skwass.neural_network import MixtureWAE

warnings.simplefilter("ignore", ConvergenceWarning)
VARIANTS = {"baseline": {}, "lam500": {"lam": 500.0}, "deterministic": {"encoder": "deterministic"}}

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.3, stratify=digits.target, random_state=0)
params = dict(n_components=10, n_clusters=10, hidden_layer_sizes=(256, 256), batch_size=100,
              learning_rate=2e-3, n_iter_no_change=1000, random_state=0, max_iter=40,
              lam=500.0 * 64 / 784)
for name in sys.argv[1:] or list(VARIANTS):
    start = time.perf_counter()
    wae = MixtureWAE(**{**params, **VARIANTS[name]}).fit(X_train)
    clusters = wae.predict(X_test)
    table = confusion_matrix(y_test, clusters)
    accuracy = table[linear_sum_assignment(-table)].sum() / len(y_test)
    error = np.mean(np.sum((wae.inverse_transform(wae.transform(X_test)) - X_test) ** 2, axis=1))
    print(f"{name:14s} ARI {adjusted_rand_score(y_test, clusters):.3f}  matched acc "
          f"{accuracy:.3f}  reconstruction {error:.3f}  images per component "
          f"{np.bincount(clusters, minlength=10).tolist()}  ({time.perf_counter() - start:.0f} s)",
          flush=True)
