"""WassersteinRBM against independent references.

References: scikit-learn's BernoulliRBM formulas (free energy, transform, Gibbs
step, pseudo-likelihood), brute-force enumeration of visible *and* hidden states,
and central finite differences of the exact objectives W_eps(p_theta, p_hat)
and KL(p_hat | p_theta) computed by enumeration.
"""

import copy
import itertools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM

from skwass.datasets import load_mnist_small
from skwass.neural_network import WassersteinRBM, binary_states
from skwass.ot import sinkhorn

D, H, N = 4, 3, 30


def _binary_data(rng, n=N, probs=(0.8, 0.2, 0.6, 0.4)):
    return (rng.random((n, len(probs))) < np.asarray(probs)).astype(np.float64)


def _unfitted_model(X, **params):
    """A fitted-shaped model (no training) whose parameters the test sets."""
    defaults = dict(n_components=H, n_pretrain_iter=0, n_iter=0, random_state=0)
    return WassersteinRBM(**{**defaults, **params}).fit(X)


def _randomize(model, rng, scale=1.0):
    d = model.n_features_in_
    model.components_ = scale * rng.normal(size=(model.n_components, d))
    model.intercept_visible_ = scale * rng.normal(size=d)
    model.intercept_hidden_ = scale * rng.normal(size=model.n_components)
    return model


def _as_bernoulli_rbm(model):
    rbm = BernoulliRBM(n_components=model.n_components, random_state=model.random_state)
    rbm.components_ = model.components_.copy()
    rbm.intercept_hidden_ = model.intercept_hidden_.copy()
    rbm.intercept_visible_ = model.intercept_visible_.copy()
    rbm.n_features_in_ = model.n_features_in_
    return rbm


def _finite_differences(fun, params, step=1e-5):
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + step
            up = fun()
            p[i] = old - step
            down = fun()
            p[i] = old
            g[i] = (up - down) / (2 * step)
        grads.append(g)
    return grads


@pytest.fixture
def model_and_data(rng):
    X = _binary_data(rng)
    return _randomize(_unfitted_model(X), rng), X


# ------------------------------------------------------- BernoulliRBM formulas


def test_free_energy_and_transform_match_bernoulli_rbm(model_and_data, rng):
    model, X = model_and_data
    rbm = _as_bernoulli_rbm(model)
    V = rng.random((7, D))  # transform and F accept means in [0, 1]
    np.testing.assert_allclose(model.free_energy(X), rbm._free_energy(X), rtol=1e-12)
    np.testing.assert_allclose(model.transform(V), rbm.transform(V), rtol=1e-12)


def test_gibbs_and_score_samples_match_bernoulli_rbm(model_and_data):
    model, X = model_and_data
    rbm = _as_bernoulli_rbm(model)
    model.random_state_ = np.random.RandomState(3)
    rbm.random_state_ = np.random.RandomState(3)
    np.testing.assert_array_equal(model.gibbs(X), rbm.gibbs(X))
    np.testing.assert_allclose(model.score_samples(X), rbm.score_samples(X), rtol=1e-12)


def test_exact_distribution_matches_joint_enumeration(model_and_data):
    model, X = model_and_data
    W, a, b = model.components_, model.intercept_visible_, model.intercept_hidden_
    # p(x) proportional to sum_y exp(a.x + b.y + y.W x), enumerating x and y.
    log_joint = {}
    for x in itertools.product([0.0, 1.0], repeat=D):
        x = np.array(x)
        terms = [a @ x + b @ y + y @ W @ x for y in map(np.array, itertools.product(
            [0.0, 1.0], repeat=H))]
        log_joint[tuple(x)] = logsumexp(terms)
    log_z = logsumexp(list(log_joint.values()))
    states, proba = model.exact_distribution()
    expected = np.array([np.exp(log_joint[tuple(s)] - log_z) for s in states])
    np.testing.assert_allclose(proba, expected, rtol=1e-10)
    np.testing.assert_allclose(
        model.log_likelihood(X), [log_joint[tuple(x)] - log_z for x in X], rtol=1e-10
    )


def test_binary_states_enumerates_every_vector():
    states = binary_states(5)
    assert states.shape == (32, 5)
    assert len({tuple(s) for s in states}) == 32


# ------------------------------------------------------------------ gradients


def _exact_w(model, X, states, eps):
    weights = model._exact_probabilities(states)
    return sinkhorn(weights, None, model._cost(states, X), eps, tol=1e-12,
                    max_iter=100_000).value


def _step_change(model, X, pretraining, exact):
    """Parameter change of one update with learning rate 1 (one Gibbs step first)."""
    before = [p.copy() for p in model._parameters()]
    model._sinkhorn_failures = 0
    chains = np.arange(model.chains_.shape[0])
    model._step(X, chains, None, pretraining, np.random.RandomState(0),
                binary_states(D) if exact else None)
    return [p - q for p, q in zip(model._parameters(), before, strict=True)]


@pytest.mark.parametrize("exact", [True, False], ids=["eq4-exact", "eq5-sample"])
def test_wasserstein_step_matches_finite_differences(model_and_data, rng, exact):
    """The update is minus the gradient of the exact W_eps(p_theta, p_hat).

    Exact mode uses eq. (4) over all 2**d states; PCD mode uses eq. (5) on a
    sample: the chains hold 20,000 exact draws of p_theta (with hidden states
    drawn from p(h | v)), which the Gibbs step of the update keeps exact.
    """
    model, X = model_and_data
    model.set_params(lam=0.0, centered=False, learning_rate=1.0, sinkhorn_tol=1e-11,
                     sinkhorn_max_iter=100_000)
    states = binary_states(D)
    fd = _finite_differences(lambda: _exact_w(model, X, states, model.eps),
                             list(model._parameters()))
    if not exact:
        proba = model._exact_probabilities(states)
        model.chains_ = states[rng.choice(len(states), 20_000, p=proba)]
        model._chain_hiddens = model._sample_hiddens(model.chains_, rng)
        model._potentials = (None, None)
    change = _step_change(model, X, pretraining=False, exact=exact)
    scale = max(np.abs(ref).max() for ref in fd)
    for step, ref in zip(change, fd, strict=True):
        np.testing.assert_allclose(step, -ref, atol=1e-8 if exact else 0.05 * scale)


def test_kl_step_matches_finite_differences(model_and_data):
    model, X = model_and_data
    model.set_params(centered=False, learning_rate=1.0, eta=0.0)
    fd = _finite_differences(lambda: -model.log_likelihood(X).mean(),
                             list(model._parameters()))
    for step, ref in zip(_step_change(model, X, pretraining=True, exact=True), fd, strict=True):
        np.testing.assert_allclose(step, -ref, atol=1e-8)


def _penalty(model):
    return model.eta * (np.sum(model.components_**2) + np.sum(model.intercept_visible_**2))


@pytest.mark.parametrize("lam", [0.1, 10.0])
def test_fine_tuning_step_weighs_omega_by_lam(model_and_data, lam):
    """The paper's rule: a step of lr * min(1, 1/lam) on W + lam * (KL + eta * R).

    The step is explicit on W + lam KL and implicit on lam eta R: the change is
    minus the gradient of the first at the old parameters plus that of the
    second at the new ones.
    """
    model, X = model_and_data
    model.set_params(lam=lam, eta=0.01, centered=False, learning_rate=1.0,
                     sinkhorn_tol=1e-11, sinkhorn_max_iter=100_000)
    states = binary_states(D)

    def data_terms():
        return _exact_w(model, X, states, model.eps) - lam * model.log_likelihood(X).mean()

    fd = _finite_differences(data_terms, list(model._parameters()))
    change = _step_change(model, X, pretraining=False, exact=True)
    fd_penalty = _finite_differences(lambda: lam * _penalty(model), list(model._parameters()))
    for step, ref, ref_penalty in zip(change, fd, fd_penalty, strict=True):
        np.testing.assert_allclose(step, -min(1.0, 1.0 / lam) * (ref + ref_penalty), atol=1e-7)


@pytest.mark.parametrize("lam", [0.0, 0.1, 1.0])
def test_paper_potential_scale_is_lam_and_learning_rate(model_and_data, monkeypatch, lam):
    """The paper's potential log(u/u~)/gamma = alpha/gamma**2 at (lr, lam) is the exact
    gradient step at (lr/gamma**2, lam*gamma**2): what the defaults rely on."""
    model, X = model_and_data
    gamma = model.eps
    model.set_params(eta=0.01, sinkhorn_tol=1e-11, sinkhorn_max_iter=100_000)
    exact = copy.deepcopy(model).set_params(lam=lam * gamma**2, learning_rate=0.01 / gamma**2)
    literal = model.set_params(lam=lam, learning_rate=0.01)
    solve = literal._centered_potential

    def paper_potential(*args, **kwargs):
        alpha, result = solve(*args, **kwargs)
        return alpha / gamma**2, result

    monkeypatch.setattr(literal, "_centered_potential", paper_potential)
    for step, ref in zip(_step_change(literal, X, False, exact=False),
                         _step_change(exact, X, False, exact=False), strict=True):
        np.testing.assert_allclose(step, ref, rtol=1e-9, atol=1e-12)
    assert np.abs(ref).max() > 1e-3  # a real step


def test_centered_step_is_gradient_step_in_centered_coordinates(model_and_data, rng):
    """Finite differences of KL + eta R in the centered parameters (W, a_c, b_c).

    Explicit on KL, implicit on eta R: the centered parameters move by minus
    the KL gradient at the old point and the penalty gradient at the new one.
    """
    model, X = model_and_data
    model.set_params(learning_rate=1.0, eta=0.01)
    model.visible_offset_ = rng.random(D)
    model.hidden_offset_ = rng.random(H)
    mu, beta = model.visible_offset_, model.hidden_offset_

    def to_centered():
        W, a, b = model._parameters()
        return [W.copy(), a + W.T @ beta, b + W @ mu]  # a = a_c - W^T beta, ...

    def centered_gradient(fun, centered):
        def objective():
            W, a_c, b_c = centered
            model.components_ = W
            model.intercept_visible_ = a_c - W.T @ beta
            model.intercept_hidden_ = b_c - W @ mu
            return fun()

        saved = [p.copy() for p in model._parameters()]
        grad = _finite_differences(objective, centered)
        model.components_, model.intercept_visible_, model.intercept_hidden_ = saved
        return grad

    before = to_centered()
    grad_kl = centered_gradient(lambda: -model.log_likelihood(X).mean(), before)
    _step_change(model, X, pretraining=True, exact=True)
    after = to_centered()
    grad_penalty = centered_gradient(lambda: _penalty(model), [p.copy() for p in after])
    for new, old, g_kl, g_penalty in zip(after, before, grad_kl, grad_penalty, strict=True):
        np.testing.assert_allclose(new - old, -(g_kl + g_penalty), atol=1e-7)


def test_large_containment_step_is_stable():
    """eta = 1e-2 at the default 400 hidden units and learning rate: the penalty's
    curvature 2 eta (1 + |beta|**2) in the centered coordinates exceeds 2 /
    learning_rate, and an explicit step on it diverged here within 90 updates."""
    X = load_mnist_small(source="digits", return_X_y=True)[0][:60]
    model = WassersteinRBM(eta=1e-2, n_pretrain_iter=100, n_iter=0, random_state=0).fit(X)
    beta = model.hidden_offset_
    assert model.learning_rate * 2 * model.eta * (1 + beta @ beta) > 2
    assert all(np.abs(p).max() < 20 for p in model._parameters())


# ------------------------------------------------------------------- training


def test_exact_wasserstein_training_beats_kl_training(rng):
    X = _binary_data(rng, n=40)
    common = dict(n_components=H, eta=1e-3, learning_rate=0.1, n_pretrain_iter=100,
                  n_iter=60, exact=True, random_state=0)
    kl = WassersteinRBM(lam=np.inf, **common).fit(X)
    wass = WassersteinRBM(lam=0.0, **common).fit(X)
    curve = np.array(wass.wasserstein_curve_)
    assert curve[-1] < curve[0]
    assert np.all(np.diff(curve) < 1e-9)  # exact gradient, small steps: monotone
    states = binary_states(D)
    assert _exact_w(wass, X, states, 0.1) < _exact_w(kl, X, states, 0.1) - 1e-3
    # score() uses the exact distribution and the same entropic value.
    assert wass.score(X) == pytest.approx(-_exact_w(wass, X, states, 0.1), abs=1e-5)
    # ... while KL training gives the higher likelihood.
    assert kl.log_likelihood(X).mean() > wass.log_likelihood(X).mean()


def test_pcd_training_full_batch_and_minibatch(rng):
    X = _binary_data(rng, n=60)
    full = WassersteinRBM(n_components=4, learning_rate=0.1, n_pretrain_iter=30, n_iter=10,
                          random_state=0).fit(X)
    assert full.chains_.shape == X.shape
    assert len(full.wasserstein_curve_) == full.n_iter_ == 10
    assert full.n_steps_ == 40
    mini = WassersteinRBM(n_components=4, learning_rate=0.1, n_pretrain_iter=3, n_iter=2,
                          batch_size=16, n_chains=30, random_state=0).fit(X)
    assert mini.n_steps_ == 5 * 4
    assert set(np.unique(mini.chains_)) <= {0.0, 1.0}
    for model in (full, mini):
        assert all(np.all(np.isfinite(p)) for p in model._parameters())


def test_fit_is_reproducible(rng):
    X = _binary_data(rng)
    params = dict(n_components=3, n_pretrain_iter=5, n_iter=5, random_state=1)
    m1 = WassersteinRBM(**params).fit(X)
    m2 = WassersteinRBM(**params).fit(X)
    np.testing.assert_array_equal(m1.components_, m2.components_)


def test_partial_fit_pretrains_then_fine_tunes(rng):
    X = _binary_data(rng)
    model = WassersteinRBM(n_components=3, n_pretrain_iter=2, random_state=0)
    for _ in range(4):
        assert model.partial_fit(X) is model
    assert model.n_steps_ == 4
    assert len(model.wasserstein_curve_) == 2  # the two fine-tuning updates
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2])


def test_lam_inf_is_plain_pcd(rng):
    """lam=inf never solves a transport problem: same steps as pretraining."""
    X = _binary_data(rng)
    params = dict(n_components=3, learning_rate=0.1, random_state=0)
    a = WassersteinRBM(lam=np.inf, n_pretrain_iter=0, n_iter=8, **params).fit(X)
    b = WassersteinRBM(lam=np.inf, n_pretrain_iter=8, n_iter=0, **params).fit(X)
    np.testing.assert_allclose(a.components_, b.components_)
    assert a.wasserstein_curve_ == []


def test_other_metrics_accept_fractional_data(rng):
    X = rng.random((20, 3))
    model = WassersteinRBM(n_components=2, metric="sqeuclidean", n_pretrain_iter=2,
                           n_iter=2, random_state=0).fit(X)
    assert np.isfinite(model.score(X))
    custom = WassersteinRBM(
        n_components=2, metric=lambda A, B: np.abs(A[:, None] - B[None]).sum(-1),
        n_pretrain_iter=2, n_iter=2, random_state=0,
    ).fit(X)
    assert custom.cost_scale_ == pytest.approx(
        np.abs(X[:, None] - X[None]).sum(-1).mean())


def test_cost_scale_is_mean_pairwise_hamming(rng):
    X = _binary_data(rng)
    model = _unfitted_model(X)
    assert model.cost_scale_ == pytest.approx(np.abs(X[:, None] - X[None]).sum(-1).mean())


def test_sample(model_and_data):
    model, X = model_and_data
    samples = model.sample(50, n_gibbs=3, random_state=0)
    assert samples.shape == (50, D) and set(np.unique(samples)) <= {0.0, 1.0}
    model.exact = True
    draws = model.sample(20_000, random_state=0)
    states, proba = model.exact_distribution()
    codes = draws @ (2 ** np.arange(D))
    freq = np.bincount(codes.astype(int), minlength=len(states)) / len(draws)
    np.testing.assert_allclose(freq, proba, atol=0.015)


def test_grid_search_over_lam(rng):
    X = _binary_data(rng, n=40)
    search = GridSearchCV(
        WassersteinRBM(n_components=3, n_pretrain_iter=5, n_iter=3, random_state=0),
        {"lam": [0.1, np.inf]}, cv=2,
    ).fit(X)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert np.all(search.cv_results_["mean_test_score"] < 0)


def test_sinkhorn_potentials_are_warm_started(rng, monkeypatch):
    import skwass.neural_network._rbm as rbm_module

    calls = []

    def recording_sinkhorn(*args, **kwargs):
        calls.append(kwargs["init"])
        return sinkhorn(*args, **kwargs)

    monkeypatch.setattr(rbm_module, "sinkhorn", recording_sinkhorn)
    X = _binary_data(rng)
    WassersteinRBM(n_components=3, n_pretrain_iter=2, n_iter=4, random_state=0).fit(X)
    assert len(calls) == 4 and calls[0] is None
    assert all(init is not None for init in calls[1:])


def test_verbose_reports_each_epoch(rng, capsys):
    X = _binary_data(rng)
    WassersteinRBM(n_components=2, n_pretrain_iter=1, n_iter=2, verbose=1,
                   random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "pretrain" in lines[0] and "W=-" in lines[0]
    assert "fine-tune" in lines[2] and "W=0." in lines[2] and "time=" in lines[2]
    WassersteinRBM(n_components=2, n_pretrain_iter=1, n_iter=1, exact=True, verbose=1,
                   random_state=0).fit(X)
    assert "objective=" in capsys.readouterr().out


def test_verbose_does_not_change_training(rng, capsys):
    X = _binary_data(rng)
    params = dict(n_components=2, n_pretrain_iter=2, n_iter=2, random_state=0)
    quiet = WassersteinRBM(**params).fit(X)
    loud = WassersteinRBM(verbose=1, **params).fit(X)
    np.testing.assert_array_equal(quiet.components_, loud.components_)


def test_unconverged_sinkhorn_warns_once(rng):
    X = _binary_data(rng)
    model = WassersteinRBM(n_components=2, n_pretrain_iter=1, n_iter=3, sinkhorn_max_iter=1,
                           random_state=0)
    with pytest.warns(ConvergenceWarning, match="3 Sinkhorn solves") as record:
        model.fit(X)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the caller


def test_partial_fit_warns_on_unconverged_sinkhorn(rng):
    X = _binary_data(rng)
    model = WassersteinRBM(n_components=2, n_pretrain_iter=1, sinkhorn_max_iter=1,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.partial_fit(X)  # pretraining: no Sinkhorn solve
    with pytest.warns(ConvergenceWarning, match="1 Sinkhorn solves") as record:
        model.partial_fit(X)
    assert len(record) == 1
    assert record[0].filename == __file__


def test_pickle_round_trip(model_and_data):
    import pickle

    model, X = model_and_data
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.transform(X), model.transform(X))
    assert copy.score(X) == model.score(X)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "X, match",
    [
        ([[0.0, 2.0], [1.0, 0.0]], r"\[0, 1\]"),
        ([[0.0, -1.0], [1.0, 0.0]], r"\[0, 1\]"),
        ([[0.0, np.nan], [1.0, 0.0]], "NaN"),
        ([[0.0, 0.5], [1.0, 0.0]], "Binarizer"),
    ],
)
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        WassersteinRBM(n_components=2, n_iter=1, n_pretrain_iter=1).fit(X)


def test_n_chains_below_two_rejected(rng):
    with pytest.raises(ValueError, match="n_chains"):
        WassersteinRBM(n_chains=1).fit(_binary_data(rng))
    with pytest.raises(ValueError, match="at least 2 PCD chains"):
        WassersteinRBM().partial_fit(_binary_data(rng, n=1))


def test_exact_refuses_large_dimension():
    X = np.zeros((3, 21))
    X[0] = 1
    with pytest.raises(ValueError, match="at most 20"):
        WassersteinRBM(exact=True).fit(X)
    model = WassersteinRBM(n_components=2, n_iter=0, n_pretrain_iter=0).fit(X)
    with pytest.raises(ValueError, match="at most 20"):
        model.log_likelihood(X)


def test_divergence_is_a_clear_error(rng):
    X = _binary_data(rng)
    model = WassersteinRBM(n_components=3, learning_rate=1e9, eta=0.0, n_pretrain_iter=20,
                           random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(X)
    assert all(np.all(np.isfinite(p)) for p in model._parameters())


def test_transform_refuses_out_of_range(model_and_data):
    model, _ = model_and_data
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.transform([[0.0, 3.0, 0.0, 1.0]])


# ---------------------------------------------------------- scikit-learn API





def test_partial_fit_stream_matches_fit():
    """Streaming the batches through partial_fit trains as well as fit(batch_size=...).

    Exact held-out log-likelihoods against the generating two-mode mixture: both
    models gain most of the gap between the independent (untrained) model and
    the truth, and end close to each other.
    """
    rng = np.random.default_rng(0)
    probs = np.array([0.9, 0.8, 0.9, 0.1, 0.2, 0.1, 0.5, 0.7])

    def draw(n):
        first = rng.random((n, 8)) < probs
        second = rng.random((n, 8)) < 1 - probs
        return np.where(rng.random((n, 1)) < 0.5, first, second).astype(np.float64)

    def true_log_likelihood(Y):
        p_first = np.prod(np.where(Y == 1, probs, 1 - probs), axis=1)
        p_second = np.prod(np.where(Y == 1, 1 - probs, probs), axis=1)
        return np.mean(np.log(0.5 * p_first + 0.5 * p_second))

    X, X_test = draw(400), draw(200)
    common = dict(n_components=8, learning_rate=0.2, eps=0.1, lam=0.1, random_state=0)
    full = WassersteinRBM(n_pretrain_iter=30, n_iter=10, batch_size=50, n_chains=50,
                          **common).fit(X)
    # n_pretrain_iter counts updates in partial_fit and epochs (of 8 batches) in fit.
    stream = WassersteinRBM(n_pretrain_iter=30 * 8, **common)
    for _ in range(40):
        for batch in np.split(X, 8):
            stream.partial_fit(batch)
    assert stream.n_steps_ == full.n_steps_ == 320
    untrained = WassersteinRBM(n_pretrain_iter=0, n_iter=0, **common).fit(X)
    ll = {name: model.log_likelihood(X_test).mean()
          for name, model in [("full", full), ("stream", stream), ("untrained", untrained)]}
    gap = true_log_likelihood(X_test) - ll["untrained"]
    assert gap > 1.0
    for name in ("full", "stream"):
        assert ll[name] - ll["untrained"] > 0.6 * gap
    assert abs(ll["stream"] - ll["full"]) < 0.2 * gap
    assert abs(stream.score(X_test) - full.score(X_test)) < 0.1
