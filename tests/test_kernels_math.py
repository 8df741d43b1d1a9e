"""The kernels' vectorizable exp against NumPy's."""

import numba
import numpy as np

from skwass._kernels._math import fast_exp


@numba.njit
def _apply(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = fast_exp(x[i])
    return out


def test_fast_exp_within_two_ulp_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-708.3, 709.7, 200_000),
        rng.uniform(-1.0, 1.0, 200_000),
        rng.uniform(-40.0, 0.0, 200_000),
        [0.0, -0.0, 1e-300, -1e-300, 709.78, -708.39, 0.34657359, -0.34657359],
    ])
    ref = np.exp(x)
    ulps = np.abs(_apply(x) - ref) / np.spacing(ref)
    assert ulps.max() <= 4.0
    assert ulps.mean() < 0.5


def test_fast_exp_special_values():
    x = np.array([-np.inf, np.inf, np.nan, -745.0, -708.5, 709.79, 710.0, 800.0])
    out = _apply(x)
    assert out[0] == 0.0 and out[1] == np.inf and np.isnan(out[2])
    # Subnormal results are flushed to zero; overflow gives inf, as np.exp does.
    assert out[3] == 0.0 and out[4] == 0.0
    assert np.all(out[5:] == np.inf)
