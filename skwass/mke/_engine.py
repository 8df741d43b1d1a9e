"""Shared engine of the minimum Kantorovich estimators.

A model is a differentiable push-forward ``x = g_theta(z)`` of base noise
``z``. The engine evaluates a loss between a model sample and the data with the
public functions of :mod:`skwass.ot`, chains the loss gradient with respect to
the sample points to the parameters (a vector-Jacobian product supplied by the
model), and minimizes it with

* ``"lbfgs"``: full-batch L-BFGS-B (SciPy) on noise drawn once and kept fixed
  (common random numbers), averaged over one or more noise sets;
* ``"nelder-mead"``: the same deterministic objective, derivative-free;
* ``"adam"``: minibatch Adam as in Genevay et al. (2018), Algorithm 1, with
  fresh noise and a fresh data minibatch at every step (or, with ``epochs``,
  an iteration is one pass over the data in shuffled minibatches);
* ``"sgd"``: the same minibatches with plain stochastic gradient steps
  ``theta -= learning_rate * grad`` (their section 4.1), whose steps, unlike
  Adam's, shrink with the gradient.

A model is ``model(theta, noise) -> X`` with ``model.vjp(theta, noise, G)``;
a model whose backward pass reuses what its forward pass computed (a network
keeping its activations) offers ``model.forward(theta, noise) -> (X, pullback)``
instead, with ``pullback(G)`` the parameter gradient.

Only :mod:`skwass.ot` is called here.
"""

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from skwass._backend._device import CPU, Device
from skwass.ot import mmd, sinkhorn_divergence, sinkhorn_points, wasserstein
from skwass.utils._optimizers import AdamOptimizer, NoImprovementStopper, SGDOptimizer

LOSSES = ("sinkhorn_divergence", "sinkhorn", "mmd", "energy", "wasserstein")
# Losses computed on a device (the exact Wasserstein distance needs POT, on the host).
DEVICE_LOSSES = ("sinkhorn_divergence", "sinkhorn", "mmd", "energy")
GRAD_METRICS = ("sqeuclidean", "euclidean", "cityblock")


@dataclass(frozen=True)
class Loss:
    """A loss between a model sample ``X`` and data ``Y`` (both 2-D).

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`, or ``"entropic"``: the un-debiased entropic OT
        value ``<P, C> + eps KL(P | a x b)`` (Montavon et al.'s ``W_gamma`` up
        to the constant ``eps log(nm)``). Any Sinkhorn loss with ``eps == 0``
        is the exact Wasserstein distance.
    eps : float
        Entropic regularization, in cost units.
    metric : str
        Ground cost for the OT losses.
    n_sinkhorn_iter : int
        L, the number of unrolled iterations of ``"sinkhorn"``.
    bandwidth : float
        Gaussian kernel bandwidth of ``"mmd"``.
    p : float
        Order of the exact Wasserstein distance.
    tol : float
        L1 marginal tolerance of the Sinkhorn solves run to convergence.
    device : Device
        Where the loss is computed: the sample and the data are copied there
        (no copy when they are there already); the value comes back as a
        float and the gradient as a NumPy array. A loss outside
        ``DEVICE_LOSSES`` on a device is a ValueError when the Loss is made.
    """

    name: str = "sinkhorn_divergence"
    eps: float = 0.1
    metric: str = "sqeuclidean"
    n_sinkhorn_iter: int = 20
    bandwidth: float = 1.0
    p: float = 1.0
    tol: float = 1e-6
    device: Device = CPU

    def _resolved_name(self):
        if self.name in ("sinkhorn_divergence", "sinkhorn", "entropic") and self.eps == 0:
            return "wasserstein"
        return self.name

    def __post_init__(self):
        """A loss that its device cannot compute is refused when it is made."""
        if self.device.on_host:
            return
        name = self._resolved_name()
        if name not in DEVICE_LOSSES:
            raise ValueError(
                f"The {name!r} loss is not available on device={self.device.name!r}; "
                f"use one of {DEVICE_LOSSES}, or device='cpu'."
            )

    def __call__(self, X, Y, return_grad=False, data_term=None):
        """Loss value, and its gradient with respect to ``X`` with ``return_grad``.

        ``data_term``: :meth:`data_term` of ``Y``, or None to compute what it holds.
        """
        if self.device.on_host:
            return self._evaluate(X, Y, return_grad, data_term)
        out = self._evaluate(self.device.asarray(X), self.device.asarray(Y), return_grad,
                             data_term)
        return (out[0], self.device.to_host(out[1])) if return_grad else out

    def data_term(self, Y):
        """What the loss computes from ``Y`` alone, for a fit that compares many model
        samples with the same ``Y``: ``OT(Y, Y)`` of the Sinkhorn divergence (at
        100,000 points the largest of its three problems), otherwise None."""
        if self._resolved_name() != "sinkhorn_divergence":
            return None
        Y = Y if self.device.on_host else self.device.asarray(Y)
        return sinkhorn_points(Y, None, eps=self.eps, metric=self.metric, tol=self.tol).value

    def _evaluate(self, X, Y, return_grad, data_term):
        name = self._resolved_name()
        if name == "sinkhorn_divergence":
            out = sinkhorn_divergence(X, Y, eps=self.eps, metric=self.metric,
                                      return_grad=return_grad, tol=self.tol, ot_yy=data_term)
        elif name == "sinkhorn":
            out = sinkhorn_divergence(X, Y, eps=self.eps, metric=self.metric, kind="primal",
                                      n_iter=self.n_sinkhorn_iter, return_grad=return_grad)
        elif name == "entropic":
            res = sinkhorn_points(X, Y, eps=self.eps, metric=self.metric, tol=self.tol)
            if not return_grad:
                return res.value
            return res.value, res.position_gradient()
        elif name in ("mmd", "energy"):
            kernel = "gaussian" if name == "mmd" else "energy"
            out = mmd(X, Y, kernel=kernel, bandwidth=self.bandwidth, return_grad=return_grad)
        else:
            # The gradient holds the optimal coupling fixed (a subgradient).
            return wasserstein(X, Y, metric=self.metric, p=self.p, return_grad=return_grad)
        if not return_grad:
            return float(out)
        return float(out[0]), out[1]


# ---------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------


@dataclass
class FitResult:
    """Outcome of :func:`minimize_loss`."""

    theta: np.ndarray
    loss: float
    n_iter: int
    converged: bool


def _check_sample(X, n_features, name):
    """A model sample must be a finite (n, n_features) float array."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"The {name} returned an array of shape {np.shape(X)}; expected "
            f"(n_samples, {n_features}) to match the data."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"The {name} returned NaN or infinite samples.")
    return X


def _sample_and_pullback(model, theta, noise, n_features, name):
    """The model sample and ``pullback(G) = sum_i G_i . d x_i / d theta``."""
    forward = getattr(model, "forward", None)
    if forward is None:
        X = model(theta, noise)
        pullback = lambda G: model.vjp(theta, noise, G)  # noqa: E731
    else:
        X, pullback = forward(theta, noise)
    return _check_sample(X, n_features, name), pullback


def _loss_and_grad(model, theta, noise, Y, loss, name):
    """Loss between the model sample of ``noise`` and ``Y``, and its ``theta`` gradient."""
    X, pullback = _sample_and_pullback(model, theta, noise, Y.shape[1], name)
    value, grad_X = loss(X, Y, return_grad=True)
    return value, pullback(np.reshape(grad_X, X.shape))


class _Objective:
    """Average loss over fixed noise sets, with the chained parameter gradient.

    ``model(theta, noise)`` returns the sample; ``model.vjp(theta, noise, G)``
    returns ``sum_i G_i . d x_i / d theta`` (or ``model.forward``, see the
    module docstring). The last value is cached so that the
    per-iteration printout costs nothing.
    """

    def __init__(self, model, Y, loss, noise_sets, name):
        # What the loss computes from Y alone is computed once, for every theta.
        self.loss = partial(loss, data_term=loss.data_term(Y))
        self.model, self.Y, self.noise_sets = model, Y, noise_sets
        self.name = name
        self.last = (None, np.inf)

    def value(self, theta):
        total = 0.0
        for noise in self.noise_sets:
            X = _check_sample(self.model(theta, noise), self.Y.shape[1], self.name)
            total += self.loss(X, self.Y)
        total /= len(self.noise_sets)
        self.last = (np.array(theta, copy=True), total)
        return total

    def value_and_grad(self, theta):
        total, grad = 0.0, np.zeros_like(theta)
        for noise in self.noise_sets:
            value, grad_theta = _loss_and_grad(self.model, theta, noise, self.Y, self.loss,
                                               self.name)
            total += value
            grad += grad_theta
        total /= len(self.noise_sets)
        self.last = (np.array(theta, copy=True), total)
        return total, grad / len(self.noise_sets)

    def cached(self, theta):
        cached_theta, value = self.last
        if cached_theta is not None and np.array_equal(cached_theta, theta):
            return value
        return self.value(theta)


def _warn_max_iter(solver, max_iter):
    warnings.warn(
        f"The {solver} optimizer stopped after max_iter={max_iter} iterations "
        "without converging; increase max_iter or tol.",
        ConvergenceWarning,
        stacklevel=3,
    )


def minimize_loss(model, theta0, Y, loss, *, solver="lbfgs", noise_sets=None, draw_noise=None,
                  bounds=None, max_iter=100, tol=1e-6, learning_rate=0.01, batch_size=200,
                  n_iter_no_change=10, epochs=False, rng=None, verbose=0, name="model"):
    """Minimize ``loss(model(theta, noise), Y)`` over ``theta``.

    Parameters
    ----------
    model : callable with a ``vjp`` or a ``forward`` method
        ``model(theta, noise) -> X`` and ``model.vjp(theta, noise, G) -> grad_theta``
        (``vjp`` may be absent for ``solver="nelder-mead"``), or
        ``model.forward(theta, noise) -> (X, pullback)`` with
        ``pullback(G) -> grad_theta`` (a network that keeps its activations).
    theta0 : ndarray of shape (n_params,)
    Y : ndarray of shape (n_data, n_features)
    loss : Loss
    solver : {"lbfgs", "nelder-mead", "adam", "sgd"}
    noise_sets : list
        Fixed noise for ``"lbfgs"`` and ``"nelder-mead"``; the objective is the
        average over the sets.
    draw_noise : callable
        ``draw_noise(rng, n) -> noise`` for ``"adam"`` and ``"sgd"`` (fresh
        noise each step).
    bounds : ndarray of shape (n_params, 2) or None
        Box constraints; ``-inf`` / ``inf`` for none. Adam and SGD project onto them.
    max_iter, tol, learning_rate, batch_size, n_iter_no_change
        Optimizer settings; ``batch_size`` is also the number of data points of
        an Adam or SGD minibatch (all of ``Y`` when it is smaller).
    epochs : bool, default=False
        An Adam or SGD iteration is a pass over ``Y`` in shuffled minibatches
        (``max_iter`` counts epochs, as in scikit-learn's MLPs).
    rng : numpy.random.RandomState
    verbose : int
        Print the loss at each iteration.
    name : str
        Names the model in error messages.

    Returns
    -------
    result : FitResult
    """
    theta0 = np.asarray(theta0, dtype=np.float64)
    if not loss.device.on_host:
        Y = loss.device.asarray(Y)  # the data go to the device once
    scipy_bounds = None if bounds is None else [
        (None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi)
        for lo, hi in bounds
    ]
    if solver in OPTIMIZERS:
        return _minibatch_descent(solver, model, theta0, Y, loss, draw_noise, bounds, max_iter,
                                  tol, learning_rate, batch_size, n_iter_no_change, rng,
                                  verbose, name, epochs)

    objective = _Objective(model, Y, loss, noise_sets, name)
    iteration = [0]

    def callback(xk, *args):
        iteration[0] += 1
        if verbose:
            print(f"Iteration {iteration[0]}, loss = {objective.cached(xk):.6g}")

    if solver == "lbfgs":
        res = minimize(objective.value_and_grad, theta0, jac=True, method="L-BFGS-B",
                       bounds=scipy_bounds, tol=tol, callback=callback,
                       options={"maxiter": max_iter})
        hit_limit = res.status == 1
    else:
        res = minimize(objective.value, theta0, method="Nelder-Mead", bounds=scipy_bounds,
                       callback=callback,
                       options={"maxiter": max_iter, "xatol": tol, "fatol": tol,
                                "adaptive": theta0.size > 3})
        hit_limit = res.status in (1, 2)
    if hit_limit:
        _warn_max_iter(solver, max_iter)
    theta = np.asarray(res.x, dtype=np.float64)
    return FitResult(theta, float(objective.cached(theta)), int(res.nit), not hit_limit)


# The minibatch solvers and their optimizers (one object each, shared with the networks).
OPTIMIZERS = {"adam": AdamOptimizer, "sgd": SGDOptimizer}


@dataclass
class MinibatchState:
    """Parameters, optimizer and moving-average loss of a minibatch fit.

    ``solver`` names the optimizer (:data:`OPTIMIZERS`), made at the first
    step. Plain arrays and numbers, so that an estimator holding one pickles
    cleanly.
    """

    theta: np.ndarray
    solver: str = "adam"
    optimizer: object = None
    average: float = None

    def __post_init__(self):
        self.theta = np.array(self.theta, dtype=np.float64)

    @property
    def n_steps(self):
        return 0 if self.optimizer is None else self.optimizer.t


def minibatch_step(state, model, noise, batch, loss, bounds, learning_rate, name="model"):
    """One optimizer step on the data minibatch ``batch`` and the model sample of ``noise``.

    Updates ``state`` in place (projected onto the box ``bounds``) and returns
    the minibatch loss before the step.
    """
    value, grad = _loss_and_grad(model, state.theta, noise, batch, loss, name)
    if state.optimizer is None:
        state.optimizer = OPTIMIZERS[state.solver]([state.theta], learning_rate)
    state.optimizer.learning_rate = learning_rate
    state.optimizer.update_params([state.theta], [grad])
    if bounds is not None:
        np.clip(state.theta, bounds[:, 0], bounds[:, 1], out=state.theta)
    state.average = value if state.average is None else 0.9 * state.average + 0.1 * value
    return value


def minibatch_epoch(state, model, draw_noise, Y, loss, bounds, learning_rate, batch_size, rng,
                    name="model"):
    """One pass over ``Y`` in shuffled minibatches, one :func:`minibatch_step` each.

    Each step draws ``batch_size`` model points. Returns the mean minibatch loss.
    """
    n_data = Y.shape[0]
    order = rng.permutation(n_data)
    values = []
    for start in range(0, n_data, batch_size):
        batch = Y[loss.device.xp.asarray(order[start:start + batch_size])]
        values.append(minibatch_step(state, model, draw_noise(rng, batch_size), batch, loss,
                                     bounds, learning_rate, name))
    return float(np.mean(values))


def _minibatch_descent(solver, model, theta, Y, loss, draw_noise, bounds, max_iter, tol,
                       learning_rate, batch_size, n_iter_no_change, rng, verbose, name,
                       epochs=False):
    """Minibatch Adam or SGD (:data:`OPTIMIZERS`), projected onto the box ``bounds``.

    An iteration is one step on a random minibatch, or with ``epochs`` one
    :func:`minibatch_epoch`. Stops when an exponential moving average of the
    minibatch loss (the epoch mean with ``epochs``) has not improved by ``tol``
    for ``n_iter_no_change`` consecutive iterations.
    """
    state = MinibatchState(theta, solver)
    n_data = Y.shape[0]
    stopper = NoImprovementStopper(tol, n_iter_no_change)
    for it in range(1, max_iter + 1):
        if epochs:
            value = average = minibatch_epoch(state, model, draw_noise, Y, loss, bounds,
                                              learning_rate, batch_size, rng, name)
        else:
            noise = draw_noise(rng, batch_size)
            if n_data <= batch_size:
                batch = Y
            else:
                batch = Y[loss.device.xp.asarray(rng.choice(n_data, batch_size, replace=False))]
            value = minibatch_step(state, model, noise, batch, loss, bounds, learning_rate,
                                   name)
            average = state.average
        if verbose:
            print(f"Iteration {it}, loss = {value:.6g}")
        if stopper.should_stop(average):
            return FitResult(state.theta, float(average), it, True)
    _warn_max_iter(solver, max_iter)
    return FitResult(state.theta, float(average), max_iter, False)
