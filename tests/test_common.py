"""scikit-learn's common estimator checks, run over every skwass estimator."""

import inspect
import warnings

import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import BernoulliRBM
from sklearn.utils.estimator_checks import parametrize_with_checks

import skwass
from skwass import (
    EllipseMKE,
    GaussianShrinkageModel,
    MinimumKantorovichEstimator,
    MixtureWAE,
    MLPGenerator,
    RBMDenoiser,
    RBMImputer,
    WassersteinRBM,
)

# Small settings: each check fits a few times, so every fit takes milliseconds.
# EllipseMKE with tol=1 and n_iter_no_change=2 stops after 3 Adam steps.
ESTIMATORS = [
    EllipseMKE(n_components=2, max_iter=5, n_iter_no_change=2, tol=1.0, batch_size=20, eps=1.0,
               random_state=0),
    GaussianShrinkageModel(random_state=0),
    MinimumKantorovichEstimator(eps=1.0, max_iter=20, random_state=0),
    MLPGenerator(hidden_layer_sizes=(8,), out_activation="identity", max_iter=3, batch_size=20,
                 tol=1.0, n_iter_no_change=1, random_state=0),
    MixtureWAE(n_components=2, n_clusters=3, hidden_layer_sizes=(8,), out_activation="identity",
               max_iter=3, batch_size=20, tol=1.0, n_iter_no_change=1, learning_rate=1e-2,
               random_state=0),
    WassersteinRBM(n_components=2, n_pretrain_iter=2, n_iter=2, metric="sqeuclidean"),
    RBMImputer(BernoulliRBM(n_components=2, n_iter=1)),
    RBMDenoiser(BernoulliRBM(n_components=2, n_iter=1), n_flips=0),
]

# The common checks draw continuous, sometimes negative data. The RBM's Bernoulli
# visible units take only data in [0, 1]; completion and denoising need 0/1 input.
_OUTSIDE_UNIT_INTERVAL = (
    "the common checks draw data outside [0, 1]; Bernoulli visible units refuse it")
_NOT_BINARY = "the common checks draw non-binary data; completion/denoising needs 0/1 input"
_EXPECTED_FAILED = {
    WassersteinRBM: dict.fromkeys((
        "check_dict_unchanged", "check_dont_overwrite_parameters", "check_estimators_dtypes",
        "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
        "check_estimators_pickle", "check_estimators_pickle(readonly_memmap=True)",
        "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_1sample",
        "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
        "check_methods_sample_order_invariance", "check_methods_subset_invariance",
        "check_n_features_in", "check_n_features_in_after_fitting",
        "check_pipeline_consistency", "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input", "check_transformer_data_not_an_array",
        "check_transformer_general", "check_transformer_general(readonly_memmap=True)",
        "check_transformer_preserve_dtypes",
    ), _OUTSIDE_UNIT_INTERVAL),
    RBMImputer: dict.fromkeys((
        "check_dict_unchanged", "check_dtype_object", "check_estimators_dtypes",
        "check_estimators_pickle", "check_estimators_pickle(readonly_memmap=True)",
        "check_f_contiguous_array_estimator", "check_fit_idempotent",
        "check_fit_score_takes_y", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_pipeline_consistency",
        "check_transformer_data_not_an_array", "check_transformer_general",
        "check_transformer_general(readonly_memmap=True)", "check_transformer_preserve_dtypes",
    ), _NOT_BINARY),
}
_EXPECTED_FAILED[RBMDenoiser] = _EXPECTED_FAILED[RBMImputer]

# Trained for a step or two, these warn that they have not converged (the RBMs
# also about the common checks' non-binary data).
_IGNORED_WARNINGS = {WassersteinRBM: Warning, RBMImputer: Warning, RBMDenoiser: Warning,
                     MixtureWAE: ConvergenceWarning}


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=lambda est: _EXPECTED_FAILED.get(type(est), {})
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        if type(estimator) in _IGNORED_WARNINGS:
            warnings.simplefilter("ignore", _IGNORED_WARNINGS[type(estimator)])
        check(estimator)


@pytest.mark.parametrize(
    "name", [name for name in skwass.__all__
             if inspect.isclass(getattr(skwass, name))
             and issubclass(getattr(skwass, name), BaseEstimator)],
)
def test_every_estimator_is_checked(name):
    assert getattr(skwass, name) in {type(estimator) for estimator in ESTIMATORS}
