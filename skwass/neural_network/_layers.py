"""Dense layers in NumPy: a forward pass that keeps the activations and its
hand-derived backward pass (model: scikit-learn's ``_multilayer_perceptron``).

The parameters of a network are one flat float64 vector ``theta``;
:meth:`DenseNetwork.unpack` views it as the lists ``coefs`` (``(fan_in,
fan_out)`` matrices) and ``intercepts``, so that an optimizer steps the whole
vector at once and the backward pass writes its gradient lists straight into a
flat gradient, with no copies.
"""

import numpy as np
from scipy.special import expit


def _identity(Z):
    return Z


def _relu(Z):
    return np.maximum(Z, 0.0, out=Z)


def _softplus(Z):
    return np.logaddexp(0.0, Z, out=Z)


def _sigmoid(Z):
    return expit(Z, out=Z)


def _tanh(Z):
    return np.tanh(Z, out=Z)


# Each activation overwrites the pre-activations it gets.
ACTIVATIONS = {"identity": _identity, "relu": _relu, "softplus": _softplus,
               "sigmoid": _sigmoid, "tanh": _tanh}


def _identity_derivative(A, delta):
    pass


def _relu_derivative(A, delta):
    delta[A == 0] = 0.0


def _softplus_derivative(A, delta):
    # softplus' = sigmoid, and sigmoid(z) = 1 - exp(-softplus(z)), written with
    # expm1 so that it stays accurate where softplus(z) is tiny.
    delta *= -np.expm1(-A)


def _sigmoid_derivative(A, delta):
    delta *= A * (1.0 - A)


def _tanh_derivative(A, delta):
    delta *= 1.0 - A * A


# Each derivative takes the activation's output A and multiplies the incoming
# gradient delta in place by the derivative at the matching pre-activation.
DERIVATIVES = {"identity": _identity_derivative, "relu": _relu_derivative,
               "softplus": _softplus_derivative, "sigmoid": _sigmoid_derivative,
               "tanh": _tanh_derivative}


class DenseNetwork:
    """A multilayer perceptron ``layer_sizes[0] -> ... -> layer_sizes[-1]``.

    Parameters
    ----------
    layer_sizes : sequence of int
        Input size, hidden sizes, output size.
    activation : str
        Hidden activation, a key of :data:`ACTIVATIONS`.
    out_activation : str
        Output activation.

    Examples
    --------
    >>> import numpy as np
    >>> net = DenseNetwork((2, 3, 1), "softplus", "identity")
    >>> theta = net.init(np.random.RandomState(0))
    >>> theta.size  # 2*3 + 3 + 3*1 + 1
    13
    >>> net.forward(theta, np.zeros((4, 2)))[-1].shape
    (4, 1)
    """

    def __init__(self, layer_sizes, activation, out_activation):
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.activation, self.out_activation = activation, out_activation
        shapes = [(i, o) for i, o in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True)]
        sizes = [i * o for i, o in shapes] + [o for _, o in shapes]
        self._shapes = shapes + [(o,) for _, o in shapes]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)

    @property
    def n_params(self):
        return int(self._offsets[-1])

    def unpack(self, theta):
        """Views ``(coefs, intercepts)`` of the flat vector ``theta``."""
        views = [theta[start:stop].reshape(shape) for start, stop, shape
                 in zip(self._offsets[:-1], self._offsets[1:], self._shapes, strict=True)]
        n_layers = len(self.layer_sizes) - 1
        return views[:n_layers], views[n_layers:]

    def init(self, rng, input_fan_in=False):
        """Glorot-uniform weights and biases, as scikit-learn's MLPs.

        Parameters
        ----------
        rng : RandomState
        input_fan_in : bool, default=False
            Draw the first layer with variance ``1 / fan_in`` (LeCun) instead of
            Glorot's ``2 / (fan_in + fan_out)``. For a low-dimensional input,
            such as a generator's latent codes, Glorot's fan-out term shrinks
            the first layer by ``sqrt((fan_in + fan_out) / (2 fan_in))`` (11x
            for 2 -> 500), and every input maps to nearly the same output.

        Returns
        -------
        theta : ndarray of shape (n_params,)
        """
        theta = np.empty(self.n_params)
        coefs, intercepts = self.unpack(theta)
        for k, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
            fan_in, fan_out = coef.shape
            last = k == len(coefs) - 1
            act = self.out_activation if last else self.activation
            fan = 2.0 * fan_in if k == 0 and input_fan_in else fan_in + fan_out
            bound = np.sqrt((2.0 if act == "sigmoid" else 6.0) / fan)
            coef[...] = rng.uniform(-bound, bound, coef.shape)
            intercept[...] = rng.uniform(-bound, bound, intercept.shape)
        return theta

    def forward(self, theta, X):
        """Activations of every layer, ``[X, hidden_1, ..., output]``."""
        coefs, intercepts = self.unpack(theta)
        activations = [X]
        for k, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
            Z = activations[-1] @ coef
            Z += intercept
            last = k == len(coefs) - 1
            activations.append(ACTIVATIONS[self.out_activation if last else self.activation](Z))
        return activations

    def backward(self, theta, activations, grad_out, input_grad=False):
        """Gradient of ``sum(grad_out * output)`` with respect to ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
        activations : list of ndarray
            From :meth:`forward` at ``theta``.
        grad_out : ndarray of shape (n_samples, layer_sizes[-1])
            Gradient of a scalar loss with respect to the output.
        input_grad : bool, default=False
            Also return the gradient with respect to the input.

        Returns
        -------
        grad : ndarray of shape (n_params,)
            Flat, laid out as ``theta`` (``unpack`` gives its lists).
        grad_input : ndarray of shape (n_samples, layer_sizes[0])
            Only with ``input_grad``.
        """
        coefs, _ = self.unpack(theta)
        grad = np.empty_like(theta)
        coef_grads, intercept_grads = self.unpack(grad)
        delta = np.array(grad_out, dtype=np.float64)
        DERIVATIVES[self.out_activation](activations[-1], delta)
        for k in range(len(coefs) - 1, -1, -1):
            np.matmul(activations[k].T, delta, out=coef_grads[k])
            np.sum(delta, axis=0, out=intercept_grads[k])
            if k == 0 and not input_grad:
                break
            delta = delta @ coefs[k].T
            if k > 0:
                DERIVATIVES[self.activation](activations[k], delta)
        return (grad, delta) if input_grad else grad
