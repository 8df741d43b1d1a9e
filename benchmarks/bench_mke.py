"""Minimum Kantorovich estimators: fit times, and the loss beside POT's in the same loop.

    python benchmarks/bench_mke.py            # Iris EllipseMKE and g-and-k at n = 1000
    python benchmarks/bench_mke.py --quick    # fewer iterations

1. ``EllipseMKE`` on Iris (PCA to 3-D, K = 3, minibatches of 200): the fit time for
   the Sinkhorn divergence (converged, log-domain) and for Genevay's W_L
   (L = 20), then a replay of the same number of iterations in which each
   iteration's loss between the model minibatch and the data is evaluated by
   skwass (value and gradient) and by POT's ``ot.sinkhorn2`` (value only:
   ``2 OT(x, y) - OT(x, x) - OT(y, y)``, same eps, same cost matrices; POT's
   scaling-domain ``sinkhorn`` to stopThr 1e-7, or exactly 20 iterations for W_L).
2. The g-and-k estimator at n = 1000 (exact 1-D W_1 against 20 fixed synthetic
   sets of 10^4 points, L-BFGS-B): the fit time, then one objective evaluation
   by skwass (value and subgradient) beside POT's ``ot.wasserstein_1d`` (value).
   (``ot.sinkhorn2`` is no peer here: on the 1000 x 10^4 matrix it runs for
   minutes per set.)

The ratio column is POT time / skwass time measured in this process; POT's
numbers do not include gradients, skwass's do.
"""

import argparse
import warnings

import numpy as np
import ot
from _timing import timed
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from skwass.datasets import gandk_simulator, make_gandk
from skwass.mixture import EllipseMKE
from skwass.mixture._ellipse import _EllipsoidPushForward
from skwass.mke import MinimumKantorovichEstimator
from skwass.mke._engine import Loss
from skwass.ot import cost_matrix


def pot_debiased(X, Y, eps, n_iter=None):
    """POT's Sinkhorn loss 2 W(x, y) - W(x, x) - W(y, y) on sqeuclidean costs."""
    def term(P, Q):
        M = cost_matrix(P, Q, metric="sqeuclidean")
        a, b = np.full(len(P), 1 / len(P)), np.full(len(Q), 1 / len(Q))
        if n_iter is None:
            return float(ot.sinkhorn2(a, b, M, eps, stopThr=1e-7, numItermax=10_000))
        return float(ot.sinkhorn2(a, b, M, eps, numItermax=n_iter, stopThr=0.0))
    return 2 * term(X, Y) - term(X, X) - term(Y, Y)


def row(label, ours, pot, note=""):
    ratio = pot / ours if ours > 0 else float("nan")
    print(f"{label:44s} {ours:10.3f} {pot:10.3f} {ratio:8.2f}  {note}")


def bench_iris(max_iter):
    X, _ = load_iris(return_X_y=True)
    X3 = PCA(3).fit_transform(X)
    print(f"\nEllipseMKE on Iris, {max_iter} Adam iterations, minibatch 200")
    print(f"{'':44s} {'skwass s':>10s} {'POT s':>10s} {'POT/ours':>8s}")
    for loss, n_iter in (("sinkhorn_divergence", None), ("sinkhorn", 20)):
        est = EllipseMKE(loss=loss, eps=0.1, max_iter=max_iter, n_iter_no_change=max_iter,
                         random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, fit_time = timed(est.fit, X3)
        # Replay: the same number of loss evaluations on fitted-model minibatches.
        model = _EllipsoidPushForward(3, 3)
        theta = np.concatenate([est.shapes_.ravel(), est.centers_.ravel()])
        rng = np.random.RandomState(0)
        batches = [model(theta, model.draw(rng, 200)) for _ in range(max_iter)]
        ours_loss = Loss(loss, eps=0.1, n_sinkhorn_iter=20)
        _, ours = timed(list, (ours_loss(B, X3, return_grad=True) for B in batches))
        _, pot = timed(list, (pot_debiased(B, X3, 0.1, n_iter) for B in batches))
        print(f"{'fit, loss=' + loss:44s} {fit_time:10.3f}")
        row(f"  {max_iter} loss evaluations (ours with gradient)", ours, pot,
            "POT: sinkhorn to 1e-7" if n_iter is None else "POT: sinkhorn, 20 iterations")


def bench_gandk(n_simulations):
    theta = np.array([3.0, 1.0, 2.0, 0.5])
    X = make_gandk(1000, theta, random_state=0)
    est = MinimumKantorovichEstimator(
        gandk_simulator, theta0=[2.0, 1.5, 1.0, 0.2],
        bounds=[(None, None), (1e-3, None), (None, None), (0, None)], loss="wasserstein",
        n_simulations=n_simulations, n_samples_simulated=10_000, random_state=0,
    )
    _, fit_time = timed(est.fit, X)
    print(f"\ng-and-k, n = 1000, {n_simulations} x 10^4 simulations, L-BFGS-B")
    print(f"fit: {fit_time:.3f} s, {est.n_iter_} iterations, theta = {est.theta_.round(3)}")
    rng = np.random.RandomState(0)
    sims = [gandk_simulator(est.theta_, rng.standard_normal(10_000))
            for _ in range(n_simulations)]
    loss = Loss("wasserstein", metric="euclidean")
    print(f"{'':44s} {'skwass s':>10s} {'POT s':>10s} {'POT/ours':>8s}")
    _, ours = timed(list, (loss(S, X, return_grad=True) for S in sims))
    _, pot = timed(list, (ot.wasserstein_1d(S[:, 0], X[:, 0], p=1) for S in sims))
    row("  one objective, exact W_1 (POT wasserstein_1d)", ours, pot)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    bench_iris(30 if args.quick else 200)
    bench_gandk(4 if args.quick else 20)


if __name__ == "__main__":
    main()
