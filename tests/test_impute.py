"""Completion, denoising and the expected Hamming error against brute-force enumeration."""


import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import make_pipeline

from skwass.datasets import load_mnist_small
from skwass.impute import (
    RBMDenoiser,
    RBMImputer,
    completion_distribution,
    denoise,
    denoising_distribution,
)
from skwass.metrics import expected_hamming_error
from skwass.neural_network import WassersteinRBM

D = 6


@pytest.fixture
def rbm(rng):
    X = (rng.random((20, D)) < 0.5).astype(float)
    model = WassersteinRBM(n_components=3, n_pretrain_iter=0, n_iter=0, random_state=0).fit(X)
    model.components_ = rng.normal(size=(3, D))
    model.intercept_visible_ = rng.normal(size=D)
    model.intercept_hidden_ = rng.normal(size=3)
    return model


def _brute_force(rbm, keep):
    """Normalized model probabilities of the states selected by ``keep(states)``."""
    states, proba = rbm.exact_distribution()
    mask = keep(states)
    return states[mask], proba[mask] / proba[mask].sum()


def test_completion_distribution_is_the_exact_conditional(rbm):
    x = np.array([1.0, np.nan, 0.0, np.nan, np.nan, 1.0])
    known = ~np.isnan(x)
    states, expected = _brute_force(rbm, lambda s: np.all(s[:, known] == x[known], axis=1))
    columns, values, proba = completion_distribution(rbm, x)
    assert columns.tolist() == [1, 3, 4]
    order = {tuple(v): p for v, p in zip(values, proba, strict=True)}
    np.testing.assert_allclose([order[tuple(s[columns])] for s in states], expected, rtol=1e-10)


def test_denoising_distribution_is_the_exact_posterior(rbm):
    x = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    suspect = np.array([True, True, False, True, True, False])
    states, expected = _brute_force(
        rbm, lambda s: (np.all(s[:, ~suspect] == x[~suspect], axis=1)
                        & (np.abs(s[:, suspect] - x[suspect]).sum(axis=1) == 2)),
    )
    columns, values, proba = denoising_distribution(rbm, x, suspect, 2)
    assert len(values) == 6  # C(4, 2)
    order = {tuple(v): p for v, p in zip(values, proba, strict=True)}
    np.testing.assert_allclose([order[tuple(s[columns])] for s in states], expected, rtol=1e-10)


def test_imputer_strategies_match_the_conditional(rbm, rng):
    X = (rng.random((5, D)) < 0.5).astype(float)
    X[rng.random(X.shape) < 0.4] = np.nan
    X[0, :3] = np.nan
    imputer = RBMImputer(rbm)
    imputer.estimator_, imputer.n_features_in_ = rbm, D  # use the given model as is
    mode = imputer.set_params(strategy="mode").transform(X)
    mean = imputer.set_params(strategy="mean").transform(X)
    for x, m, p in zip(X, mode, mean, strict=True):
        if not np.isnan(x).any():
            np.testing.assert_array_equal(m, x)
            continue
        columns, values, proba = completion_distribution(rbm, x)
        np.testing.assert_array_equal(m[columns], values[np.argmax(proba)])
        np.testing.assert_allclose(p[columns], proba @ values)
    # Gibbs sampling approaches the exact marginals.
    gibbs = imputer.set_params(strategy="mean", max_exact=0, n_gibbs=4000,
                               random_state=0).transform(X)
    np.testing.assert_allclose(gibbs, mean, atol=0.06)
    sample = imputer.set_params(strategy="sample", random_state=0).transform(X)
    assert set(np.unique(sample)) <= {0.0, 1.0}


def test_imputer_works_in_a_pipeline(rng):
    y = rng.integers(0, 2, 80)
    X = np.where(rng.random((80, 5)) < 0.9, y[:, None], 1 - y[:, None]).astype(float)
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.2] = np.nan
    rbm = BernoulliRBM(n_components=4, learning_rate=0.05, n_iter=30, random_state=0)
    pipe = make_pipeline(RBMImputer(rbm), LogisticRegression()).fit(X_missing, y)
    assert pipe.score(X_missing, y) > 0.9
    with pytest.raises(ValueError, match=r"features \[1\] missing in every row"):
        RBMImputer(rbm).fit(np.array([[1.0, np.nan], [0.0, np.nan]]))


def _digits_with_gaps(rng):
    """8x8 digits, binarized, with 10% of the pixels of every row missing at random."""
    X, y = load_mnist_small(digit=None, source="digits", return_X_y=True)
    X_missing = X.copy()
    for row in X_missing:
        row[rng.choice(X.shape[1], round(0.1 * X.shape[1]), replace=False)] = np.nan
    return train_test_split(X, X_missing, y, test_size=0.5, random_state=0)


def test_imputer_fits_on_incomplete_digits(rng):
    X_train, X_test, missing_train, missing_test, y_train, y_test = _digits_with_gaps(rng)
    assert np.isnan(missing_train).any(axis=1).all()  # not one complete row
    rbm = BernoulliRBM(n_components=64, learning_rate=0.1, n_iter=30, random_state=0)
    imputer = RBMImputer(rbm, random_state=0)
    def classifier():
        return LogisticRegression(C=0.1, solver="newton-cg")

    pipe = make_pipeline(imputer, classifier()).fit(missing_train, y_train)
    complete = classifier().fit(X_train, y_train).score(X_test, y_test)
    assert pipe.score(missing_test, y_test) > complete - 0.05

    # Expected Hamming error on the imputed pixels, against mean imputation.
    gaps = np.isnan(missing_test)
    errors = {}
    for name, fitted in (("rbm", imputer.set_params(strategy="mean")),
                         ("mean", SimpleImputer().fit(missing_train))):
        filled = fitted.transform(missing_test)
        errors[name] = expected_hamming_error(X_test[gaps][None], filled[gaps][None])
    assert errors["rbm"] < 0.75 * errors["mean"]


def test_fit_with_missing_values_redraws_them_from_the_model(rng):
    # Two patterns; every row lacks one entry, so fit cannot use complete rows.
    X = np.tile([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]], (20, 1))
    X_missing = X.copy()
    X_missing[np.arange(40), rng.integers(0, 6, 40)] = np.nan
    before = X_missing.copy()
    rbm = WassersteinRBM(n_components=2, lam=1.0, learning_rate=0.5, n_pretrain_iter=150,
                         n_iter=20, random_state=0)
    imputer = RBMImputer(rbm, random_state=0).fit(X_missing)
    np.testing.assert_array_equal(X_missing, before)  # the input is not modified
    np.testing.assert_array_equal(imputer.transform(X_missing), X)
    assert imputer.estimator_.n_steps_ == 170
    assert len(imputer.estimator_.wasserstein_curve_) == 20
    denoiser = RBMDenoiser(rbm, n_flips=1, random_state=0).fit(X_missing)
    np.testing.assert_array_equal(denoiser.transform([[1.0, 0.0, 1.0, 0.0, 0.0, 0.0]]), X[:1])


def test_fit_with_missing_values_needs_partial_fit():
    with pytest.raises(ValueError, match="PCA has no partial_fit"):
        RBMImputer(PCA()).fit([[1.0, np.nan], [0.0, 1.0]])


def test_expected_hamming_error_matches_enumeration(rbm):
    x_true = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    x = x_true.copy()
    x[[0, 2, 5]] = np.nan
    columns, values, proba = completion_distribution(rbm, x)
    direct = proba @ np.abs(values - x_true[columns]).sum(axis=1)
    completion = x.copy()
    completion[columns] = proba @ values
    error, bias, variance = expected_hamming_error(
        [x_true], [completion], return_decomposition=True
    )
    assert error == pytest.approx(direct, rel=1e-12)
    assert error == pytest.approx(bias + variance)
    mode = values[np.argmax(proba)]
    assert bias <= error and variance >= 0
    assert expected_hamming_error([x_true[columns]], [mode]) == np.abs(mode - x_true[columns]).sum()


def test_expected_hamming_error_refuses_bad_input():
    with pytest.raises(ValueError, match="binary"):
        expected_hamming_error([[0.5]], [[0.5]])
    with pytest.raises(ValueError, match="probabilities"):
        expected_hamming_error([[1.0]], [[1.5]])


def test_denoiser(rng):
    X = np.tile([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]], (20, 1))
    rbm = WassersteinRBM(n_components=2, lam=np.inf, learning_rate=0.5, n_pretrain_iter=300,
                         n_iter=0, random_state=0)
    denoiser = RBMDenoiser(rbm, columns=[0, 1, 2, 3], n_flips=1).fit(X)
    noisy = np.array([[1.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]])
    np.testing.assert_array_equal(denoiser.transform(noisy), X[:2])
    mean = denoiser.set_params(strategy="mean").transform(noisy)
    assert expected_hamming_error(X[:2], mean) < 0.5
    # Per-row suspect masks, as random image patches.
    mask = np.array([[False, True, False, False, False, False],
                     [False, False, False, True, True, False]])
    np.testing.assert_array_equal(denoise(denoiser.estimator_, noisy, mask, 1), X[:2])
    with pytest.raises(ValueError, match="exceeds"):
        RBMDenoiser(rbm, columns=[0], n_flips=2).fit(X)






@pytest.mark.parametrize(
    "columns, match",
    [([99], r"columns holds \[99\], outside \[0, 6\)"), ([-1], r"outside \[0, 6\)"),
     ([0.5], "integer column indices"), ([[1]], "integer column indices")],
)
def test_denoiser_validates_columns(columns, match):
    X = (np.random.default_rng(0).random((20, 6)) > 0.5).astype(float)
    with pytest.raises(ValueError, match=match):
        RBMDenoiser(columns=columns).fit(X)
