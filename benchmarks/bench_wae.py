"""One MixtureWAE training step at the paper's MNIST size, split into its MMD and network parts.

    python benchmarks/bench_wae.py             # batch 100, 10 components, dim(z) = 10, 784 pixels
    python benchmarks/bench_wae.py --repeat 3  # fewer repeats on a busy machine
    python benchmarks/bench_wae.py --n-jobs 1  # one BLAS thread, as MixtureWAE(n_jobs=1)

A step (``MixtureWAE._objective`` with its gradient, as each Adam step of
``fit`` calls it) encodes the minibatch, decodes ``batch * n_clusters`` codes,
and takes the IMQ MMD between those codes and ``batch`` prior draws with
:func:`skwass.ot.mixture_mmd` (15 bandwidths, U-statistic, gradients with
respect to the codes and the mixture weights). The MMD part is timed on the
same shapes; the network part is the rest of the step.

The peer is :func:`skwass.ot.mmd` with ``return_grad=True`` on the same
``batch * n_clusters`` codes (flattened, weighted) and prior draws: the
grouped estimate does the same kernel work plus a gradient for the weights.
Each time is the median of ``--repeat`` calls after one warm-up call, inside
:func:`skwass.utils.thread_limits` with ``--n-jobs`` as ``fit`` runs them (on a
busy machine, ``--n-jobs 1`` avoids the BLAS threads waiting for each other).
"""

import argparse

import numpy as np
from _timing import median_time

from skwass.neural_network import MixtureWAE
from skwass.neural_network._wae import mmd_bandwidths
from skwass.ot import mixture_mmd, mmd
from skwass.utils import thread_limits

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--batch-size", type=int, default=100)
parser.add_argument("--n-clusters", type=int, default=10)
parser.add_argument("--repeat", type=int, default=7)
parser.add_argument("--n-jobs", type=int, default=None)
args = parser.parse_args()

rng = np.random.RandomState(0)
n, K, d, p = args.batch_size, args.n_clusters, 10, 784
X = rng.uniform(size=(n, p))
wae = MixtureWAE(n_components=d, n_clusters=K, hidden_layer_sizes=(256, 256))
wae.n_features_in_ = p
wae.means_ = wae._prior_means()
theta = wae._init_theta(rng)
Z, Y = rng.normal(size=(n, K, d)), rng.normal(size=(n, d))
weights = rng.dirichlet(np.ones(K), size=n)
imq = dict(kernel="imq", bandwidth=mmd_bandwidths(d, 1.0), return_grad=True)

with thread_limits(args.n_jobs):
    step = median_time(lambda: wae._objective(theta, X, rng, return_grad=True), args.repeat,
                       warmup=True)
    grouped = median_time(lambda: mixture_mmd(Z, weights, Y, unbiased=True, **imq),
                          args.repeat, warmup=True)
    flat = median_time(lambda: mmd(Z.reshape(-1, d), Y, weights.ravel() / n, **imq),
                       args.repeat, warmup=True)
print(f"MixtureWAE step, batch {n} x {K} components, dim(z) {d}, {p} features, "
      f"hidden (256, 256); n_jobs={args.n_jobs}; median of {args.repeat}")
print(f"{'training step':40s} {step * 1e3:8.1f} ms")
print(f"{'  MMD part (skwass.ot.mixture_mmd)':40s} {grouped * 1e3:8.1f} ms")
print(f"{'  network part (the rest)':40s} {(step - grouped) * 1e3:8.1f} ms")
print(f"{'peer: skwass.ot.mmd, same codes':40s} {flat * 1e3:8.1f} ms   "
      f"mixture_mmd / mmd = {grouped / flat:.2f}")
