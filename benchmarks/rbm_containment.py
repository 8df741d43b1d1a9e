"""Why KL pretraining diverged at eta = 1e-2, 400 hidden units, learning rate 1.0.

    python benchmarks/rbm_containment.py             # MNIST-small zeros, the holdout split
    python benchmarks/rbm_containment.py --fast      # 8 x 8 zeros, short runs

Pretrains ``WassersteinRBM(lam=inf)`` on the training part of
``benchmarks/rbm_holdout.py``'s split, full batch, and prints for each variant
the update at which it diverged (or that it stayed finite), the largest
parameter magnitude, and ``lr * 2 eta (1 + |beta|**2)``, the curvature of the
containment ``eta (|a|**2 + |W|**2)`` along ``a_c - beta.w_i`` in the
centered coordinates (``a = a_c - W^T beta``) times the step. An explicit
gradient step on a quadratic is unstable once that exceeds 2.

"explicit" is the step skwass took before: the gradient of the penalty at the
old parameters added to that of the KL. "implicit" is the current
proximal step on the penalty (``WassersteinRBM._containment_step``).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from rbm_holdout import load  # noqa: E402

from skwass.neural_network import WassersteinRBM  # noqa: E402


class ExplicitContainment(WassersteinRBM):
    """The penalty's gradient at the parameters before the update, in the step's coordinates."""

    def _step(self, *args, **kwargs):
        self._before = tuple(p.copy() for p in self._parameters())
        return super()._step(*args, **kwargs)

    def _containment_step(self, t, mu, beta):
        W0, a0, _ = self._before
        W = self.components_
        a_c = self.intercept_visible_ + W.T @ beta
        b_c = self.intercept_hidden_ + W @ mu
        # Centered gradient of (t / 2)(|a|**2 + |W|**2): (W - beta a^T, a, 0) times t.
        W -= t * (W0 - beta[:, None] * a0[None, :])
        a_c -= t * a0
        self.intercept_visible_ = a_c - W.T @ beta
        self.intercept_hidden_ = b_c - W @ mu


def pretrain(cls, X, n_updates, **params):
    model = cls(lam=np.inf, n_pretrain_iter=10**9, n_iter=0, random_state=0, **params)
    curvature = None
    for update in range(1, n_updates + 1):
        try:
            model.partial_fit(X)
        except FloatingPointError:
            return f"diverged at update {update}", curvature, np.nan
        if update == 20:
            beta = model.hidden_offset_ if model.centered else 0 * model.hidden_offset_
            curvature = model.learning_rate * 2 * model.eta * (1 + beta @ beta)
    largest = max(float(np.abs(p).max()) for p in model._parameters())
    return "finite", curvature, largest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    data = argparse.Namespace(data="digits" if args.fast else "zeros", per_class=20, seed=0)
    X = load(data)[0]
    if args.fast:
        X, args.updates = X[X.sum(axis=1) > 0], 100
    variants = [
        ("explicit, centered, eta 1e-2", ExplicitContainment, dict(eta=1e-2)),
        ("explicit, uncentered, eta 1e-2", ExplicitContainment, dict(eta=1e-2, centered=False)),
        ("explicit, centered, eta 1e-3", ExplicitContainment, dict(eta=1e-3)),
        ("explicit, centered, eta 0", ExplicitContainment, dict(eta=0.0)),
        ("explicit, centered, eta 1e-2, 100 hidden", ExplicitContainment,
         dict(eta=1e-2, n_components=100)),
        ("explicit, centered, eta 1e-2, lr 0.5", ExplicitContainment,
         dict(eta=1e-2, learning_rate=0.5)),
        ("implicit, centered, eta 1e-2", WassersteinRBM, dict(eta=1e-2)),
    ]
    print(f"{len(X)} training images, {X.shape[1]} pixels; KL pretraining, full batch, "
          f"{args.updates} updates, 400 hidden and learning rate 1.0 unless stated")
    print(f"{'variant':<42s} {'outcome':>24s} {'lr 2 eta (1+|beta|^2)':>22s} "
          f"{'max |param|':>12s} {'time':>6s}")
    warnings.simplefilter("ignore")
    for name, cls, params in variants:
        start = time.perf_counter()
        outcome, curvature, largest = pretrain(cls, X, args.updates, **params)
        curvature = "-" if curvature is None else f"{curvature:.3f}"
        print(f"{name:<42s} {outcome:>24s} {curvature:>22s} {largest:>12.3g} "
              f"{time.perf_counter() - start:>5.0f}s", flush=True)


if __name__ == "__main__":
    main()
