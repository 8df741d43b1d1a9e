"""Random OT problems shared by the tests."""

import numpy as np


def random_problem(rng, n, m, d=2, weights=True, dtype=np.float64):
    """Two shifted Gaussian clouds and (optionally random) probability weights."""
    X = rng.normal(size=(n, d)).astype(dtype)
    Y = (rng.normal(size=(m, d)) + 1.0).astype(dtype)
    if weights:
        a = rng.random(n) + 0.1
        b = rng.random(m) + 0.1
    else:
        a, b = np.ones(n), np.ones(m)
    return X, Y, a / a.sum(), b / b.sum()


def gauge(f, g, a):
    """Potentials shifted so that ``a @ f == 0`` (they are defined up to ``f + c, g - c``)."""
    shift = a @ f
    return f - shift, g + shift


def central_differences(f, x, coords, step=1e-6):
    """Central finite differences of the scalar ``f`` at ``x`` along the flat ``coords``."""
    out = []
    for k in coords:
        shift = np.zeros_like(x)
        shift[k] = step
        out.append((f(x + shift) - f(x - shift)) / (2 * step))
    return np.array(out)
