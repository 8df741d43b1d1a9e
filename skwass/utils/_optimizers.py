"""The stochastic optimizers shared by every minibatch fit in skwass.

It lives outside :mod:`skwass.neural_network` because the minimum Kantorovich
engine (:mod:`skwass.mke._engine`), which the networks train through, uses it
too, and the networks import the engine.
"""

import numpy as np


class AdamOptimizer:
    """Adam (Kingma & Ba 2015) on a list of parameter arrays, updated in place.

    The model is scikit-learn's ``AdamOptimizer``: the moments are lists of the
    parameters' shapes, and :meth:`update_params` takes the gradients.

    Parameters
    ----------
    params : list of ndarray
        The parameters (their shapes set those of the moments).
    learning_rate : float, default=0.001
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Added to the root of the second moment.

    Attributes
    ----------
    t : int
        Steps taken.
    ms, vs : list of ndarray
        First and second moment estimates.

    Examples
    --------
    >>> import numpy as np
    >>> params = [np.array([1.0, -2.0])]
    >>> opt = AdamOptimizer(params, learning_rate=0.1)
    >>> opt.update_params(params, [np.array([3.0, -0.5])])
    >>> params[0]  # the first step moves each entry by learning_rate
    array([ 0.9, -1.9])
    """

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        """One Adam step: ``params[k] -= lr * m_hat / (sqrt(v_hat) + epsilon)`` in place."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        correction_1, correction_2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for param, grad, m, v in zip(params, grads, self.ms, self.vs, strict=True):
            m *= b1
            m += (1.0 - b1) * grad
            v *= b2
            v += (1.0 - b2) * (grad * grad)
            denom = np.sqrt(v / correction_2)
            denom += self.epsilon
            step = m / correction_1
            step /= denom
            step *= self.learning_rate
            param -= step


class SGDOptimizer:
    """Plain stochastic gradient descent on a list of parameter arrays, in place.

    ``params[k] -= learning_rate * grads[k]``: unlike Adam's, the step is
    proportional to the gradient, so parameters that the loss barely sees
    barely move (Genevay et al. 2018, section 4.1, fit this way). The
    interface is :class:`AdamOptimizer`'s.

    Parameters
    ----------
    params : list of ndarray
        The parameters (unused; kept for the common interface).
    learning_rate : float, default=0.01

    Attributes
    ----------
    t : int
        Steps taken.

    Examples
    --------
    >>> import numpy as np
    >>> params = [np.array([1.0, -2.0])]
    >>> SGDOptimizer(params, learning_rate=0.1).update_params(params, [np.array([3.0, -0.5])])
    >>> params[0]
    array([ 0.7 , -1.95])
    """

    def __init__(self, params, learning_rate=0.01):
        self.learning_rate = learning_rate
        self.t = 0

    def update_params(self, params, grads):
        """One step: ``params[k] -= learning_rate * grads[k]`` in place."""
        self.t += 1
        for param, grad in zip(params, grads, strict=True):
            param -= self.learning_rate * grad


class NoImprovementStopper:
    """Stop once a loss has not improved by ``tol`` for ``n_iter_no_change`` iterations.

    The early-stopping rule of scikit-learn's MLPs, shared by the minibatch
    fits of skwass.

    Parameters
    ----------
    tol : float
    n_iter_no_change : int

    Examples
    --------
    >>> stopper = NoImprovementStopper(tol=0.1, n_iter_no_change=2)
    >>> [stopper.should_stop(loss) for loss in (1.0, 0.5, 0.45, 0.44, 0.3)]
    [False, False, False, True, False]
    """

    def __init__(self, tol, n_iter_no_change):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.best, self.n_stalled = np.inf, 0

    def should_stop(self, loss):
        """Record this iteration's ``loss``; True when the fit should stop."""
        if loss < self.best - self.tol:
            self.best, self.n_stalled = loss, 0
            return False
        self.n_stalled += 1
        return self.n_stalled >= self.n_iter_no_change
