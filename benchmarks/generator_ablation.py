"""Why does MLPGenerator collapse to the mean digit at Genevay et al.'s settings? (issue 15)

    python benchmarks/generator_ablation.py            # 2,000 MNIST digits, 20 epochs
    python benchmarks/generator_ablation.py --fast     # 400 digits, small net: a smoke run

Genevay, Peyre & Cuturi (2018), section 4.2, Figure 3 (a): a 2-500-500-784
softplus/sigmoid generator on a uniform latent square, the squared Euclidean
cost on raw pixels in [0, 1], eps = 1, L = 10 unrolled Sinkhorn iterations,
minibatches of 200, Adam 5e-3. Their MNIST reference code (``mke_tf.py`` in
the authors' Sinkhorn-GAN repository) differs from the text in three ways
that this script separates: the loss is the plain ``W_L(x, y)`` (no
``W_L(x, x)`` / ``W_L(y, y)`` debiasing terms), L = 50 log-domain
iterations, and the biases start at zero.

One row per (initialization, loss, eps). Columns:

- ``init std``: the mean over pixels of the sample's pixel standard deviation
  at initialization (the data's is printed in the header);
- ``std``: the same after a sixth, a third, two thirds and all of the epochs;
- ``S(score_eps)``: at the same epochs, the debiased Sinkhorn divergence at
  eps = 1 between 1,000 generated and 1,000 held-out digits (what
  ``MLPGenerator.score`` negates; lower is better);
- ``own loss``: the mean minibatch training loss of the last epoch;
- ``W_10``: Genevay's unrolled ``2 W_L(x, y) - W_L(x, x) - W_L(y, y)`` with
  L = 10 on the final held-out pair (about twice ``S`` when converged);
- ``Parzen``: held-out Parzen-window log-likelihood, window chosen on a
  validation split (:func:`skwass.metrics.parzen_log_likelihood`).

Initializations: ``glorot`` (scikit-learn's Glorot-uniform weights and biases,
MLPGenerator's first default), ``glorot, zero bias`` (the reference code's
Xavier weights and zero biases), ``first layer fan-in`` (the first layer drawn
with variance ``1 / fan_in``, 11x Glorot's scale for 2 -> 500: MLPGenerator's
default, ``DenseNetwork.init(rng, input_fan_in=True)``).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skwass.datasets import load_mnist_small
from skwass.metrics import parzen_log_likelihood
from skwass.neural_network import MLPGenerator
from skwass.neural_network._layers import DenseNetwork
from skwass.ot import sinkhorn_divergence, sinkhorn_loss

SIGMAS = np.geomspace(0.05, 1.0, 14)


class _PlainUnrolled:
    """The reference code's loss: ``W_L(x, y)`` alone, no debiasing terms."""

    def __init__(self, eps, n_iter):
        from skwass.mke._engine import CPU

        self.eps, self.n_iter, self.device = eps, n_iter, CPU

    def __call__(self, X, Y, return_grad=False):
        out = sinkhorn_loss(X, Y, eps=self.eps, n_iter=self.n_iter, return_grad=return_grad)
        return out[:2] if return_grad else out


class _Network(DenseNetwork):
    """A DenseNetwork whose init is one of the ablation's variants."""

    variant = "first layer fan-in"

    def init(self, rng, input_fan_in=False):
        theta = super().init(rng, input_fan_in=self.variant == "first layer fan-in")
        if self.variant == "glorot, zero bias":
            for intercept in self.unpack(theta)[1]:
                intercept[...] = 0.0
        return theta


class _AblationGenerator(MLPGenerator):
    """MLPGenerator with the init variant and the plain W_L loss of the ablation."""

    init_variant, plain_unrolled = "first layer fan-in", False

    def _network(self):
        net = super()._network()
        out = _Network(net.layer_sizes, net.activation, net.out_activation)
        out.variant = self.init_variant
        return out

    def _base_loss(self, X):
        if self.plain_unrolled:
            return _PlainUnrolled(self.eps, self.n_sinkhorn_iter)
        return super()._base_loss(X)


def pixel_std(images):
    return float(np.std(images, axis=0).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a small smoke run")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--eps10", action="store_true", help="add two rows at eps = 10")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    digits = load_mnist_small(digit=None, threshold=None)
    n_train = 400 if args.fast else args.n_train
    X_train, X_rest = train_test_split(digits.data, train_size=n_train, random_state=0)
    X_val, X_test = X_rest[:500], X_rest[500:1500]
    epochs = 3 if args.fast else args.epochs
    checkpoints = sorted({max(1, epochs * k // 6) for k in (1, 2, 4, 6)})
    common = dict(n_components=2, hidden_layer_sizes=(64, 64) if args.fast else (500, 500),
                  batch_size=200, learning_rate=5e-3, random_state=0)
    losses = {
        "W_L, L=10": dict(loss="sinkhorn_unrolled", n_sinkhorn_iter=10),
        "W_L plain, L=50 (ref. code)": dict(loss="sinkhorn_unrolled", n_sinkhorn_iter=50,
                                            plain_unrolled=True),
        "sinkhorn (converged)": dict(loss="sinkhorn"),
    }
    runs = [("glorot", "W_L, L=10", 1.0), ("first layer fan-in", "W_L, L=10", 1.0),
            ("glorot", "sinkhorn (converged)", 1.0),
            ("first layer fan-in", "sinkhorn (converged)", 1.0),
            ("glorot, zero bias", "W_L plain, L=50 (ref. code)", 1.0)]
    if args.eps10:
        runs += [(init, "sinkhorn (converged)", 10.0) for init in ("glorot", "first layer fan-in")]

    print(f"{len(X_train)} training, {len(X_val)} validation, {len(X_test)} test digits "
          f"({digits.source}); 2-{'-'.join(map(str, common['hidden_layer_sizes']))}-"
          f"{X_train.shape[1]}, {epochs} epochs of {len(X_train) // 200} Adam steps "
          f"(batch 200, 5e-3)")
    print(f"data pixel std {pixel_std(X_test):.3f}; mean squared distance between digits "
          f"{2 * X_test.var(axis=0).sum():.1f}; std and S printed after epochs "
          f"{'/'.join(map(str, checkpoints))}")
    print(f"{'init':>18} {'loss':>27} {'eps':>3} {'init std':>8} {'std':>23} "
          f"{'S(score_eps)':>23} {'own loss':>8} {'W_10':>6} {'Parzen':>6} {'time s':>6}")
    for init, loss, eps in runs:
        start = time.perf_counter()
        options = dict(losses[loss])
        gen = _AblationGenerator(eps=eps, **common)
        gen.init_variant, gen.plain_unrolled = init, options.pop("plain_unrolled", False)
        gen.set_params(**options)
        net = _Network((2, *common["hidden_layer_sizes"], X_train.shape[1]), "softplus",
                       "sigmoid")
        net.variant = init
        theta0 = net.init(np.random.RandomState(0))  # the weights partial_fit starts from
        init_std = pixel_std(net.forward(theta0, np.random.default_rng(1).uniform(
            size=(1000, 2)))[-1])
        stds, divergences = [], []
        for epoch in range(1, epochs + 1):
            gen.partial_fit(X_train)
            if epoch in checkpoints:
                sample = gen.sample(1000, random_state=1)
                stds.append(f"{pixel_std(sample):.3f}")
                divergences.append(f"{sinkhorn_divergence(sample, X_test, eps=1.0):.1f}")
        w10 = sinkhorn_divergence(sample, X_test, eps=1.0, kind="primal", n_iter=10)
        sigma = SIGMAS[np.argmax(parzen_log_likelihood(X_val, sample, SIGMAS))]
        parzen = parzen_log_likelihood(X_test, sample, sigma)
        print(f"{init:>18} {loss:>27} {eps:3g} {init_std:8.4f} {'/'.join(stds):>23} "
              f"{'/'.join(divergences):>23} {gen.loss_:8.2f} {w10:6.1f} {parzen:6.0f} "
              f"{time.perf_counter() - start:6.0f}", flush=True)


if __name__ == "__main__":
    main()
