"""The ``python -m skwass`` demos, in fast mode on the embedded data."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from skwass._demo import (  # noqa: E402
    _flip_in_patches,
    _hide_patches,
    _kde_complete_mean,
    _kde_denoise_mean,
    _kde_flip_probability,
    _Progress,
    build_parser,
    main,
)
from skwass.neural_network import binary_states  # noqa: E402


def test_parser_defaults():
    args = build_parser().parse_args([])
    assert args.demo == "rbm" and args.output == "skwass-demo" and args.source == "auto"


def test_hide_patches_hides_one_square_per_image():
    X = np.zeros((5, 64))
    hidden = np.isnan(_hide_patches(X, (8, 8), 3, np.random.default_rng(0)))
    assert hidden.sum(axis=1).tolist() == [9] * 5
    for mask in hidden.reshape(5, 8, 8):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert np.ptp(rows) == 2 and np.ptp(cols) == 2


def _gaussian_kde(X_train, states, q):
    """Gaussian kernel density of ``states``, normalized over all of ``{0, 1}^d``."""
    two_sigma2 = 1 / np.log((1 - q) / q)
    everything = binary_states(X_train.shape[1])
    kernel = np.exp(-((everything[:, None] - X_train[None]) ** 2).sum(axis=2) / two_sigma2)
    norm = kernel.sum(axis=0)  # per training row
    return (np.exp(-((states[:, None] - X_train[None]) ** 2).sum(axis=2) / two_sigma2)
            / norm).mean(axis=1)


def test_kde_baseline_against_the_explicit_gaussian_kernel(rng):
    X = (rng.random((25, 5)) < 0.3).astype(float)
    q = _kde_flip_probability(X)
    # Leave-one-out log-likelihood of the explicit kernel peaks at the chosen q.
    def loo(q):
        return np.mean([np.log(_gaussian_kde(np.delete(X, i, axis=0), X[i:i + 1], q))
                        for i in range(len(X))])
    assert loo(q) >= max(loo(q * 0.8), loo(min(q * 1.25, 0.49)))
    # Completion marginals: the kernel density over the 2**k completions.
    x = np.array([1.0, np.nan, 0.0, np.nan, np.nan])
    columns = np.flatnonzero(np.isnan(x))
    completions = np.tile(x, (8, 1))
    completions[:, columns] = binary_states(3)
    density = _gaussian_kde(X, completions, q)
    expected = density @ completions / density.sum()
    np.testing.assert_allclose(_kde_complete_mean(X, x[None], q)[0], expected, rtol=1e-10)


def test_flip_in_patches_flips_inside_one_patch():
    X = np.zeros((20, 64))
    noisy, suspect = _flip_in_patches(X, (8, 8), 4, np.random.default_rng(0))
    assert noisy.sum(axis=1).tolist() == [4] * 20
    assert not np.any(noisy.astype(bool) & ~suspect)
    for mask in suspect.reshape(20, 8, 8):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert sorted((rows.size, cols.size)) == [3, 4] and mask.sum() == 12
    assert not np.any(X)  # the input is left alone


def test_kde_denoising_against_the_explicit_gaussian_kernel(rng):
    X = (rng.random((25, 5)) < 0.3).astype(float)
    q = _kde_flip_probability(X)
    x = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    suspect = np.array([True, True, False, True, True])
    # The C(4, 2) states two flips away from x on the suspect entries.
    candidates = []
    for i, j in [(0, 1), (0, 3), (0, 4), (1, 3), (1, 4), (3, 4)]:
        state = x.copy()
        state[[i, j]] = 1 - state[[i, j]]
        candidates.append(state)
    candidates = np.array(candidates)
    density = _gaussian_kde(X, candidates, q)
    expected = density @ candidates / density.sum()
    np.testing.assert_allclose(_kde_denoise_mean(X, x[None], suspect[None], 2, q)[0], expected,
                               rtol=1e-10)


def test_progress_bar_every_tenth_off_a_terminal():
    import io

    stream = io.StringIO()
    bar = _Progress("fit", 20, stream=stream)
    for k in range(1, 21):
        bar.update(k, f"W={k}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11  # 1/20, then every 10% (not a TTY)
    assert "[####################]   20/20" in lines[-1] and lines[-1].endswith("W=20")
    verbose = io.StringIO()
    bar = _Progress("fit", 20, stream=verbose, every_update=True)
    for k in range(1, 21):
        bar.update(k)
    assert len(verbose.getvalue().splitlines()) == 20


def test_rbm_demo_table_and_figure(tmp_path, capsys):
    assert main(["--fast", "--source", "digits", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "scikit-learn's 8 x 8 digits (fallback" in out
    assert "RBM (lam = inf)" in out and "RBM-W (lam = 0.001)" in out
    assert "completion k=9" in out and "denoising k=12, l=4" in out and "isolated" in out
    assert "KDE" in out and "KL pretraining" in out
    assert (tmp_path / "rbm_demo.png").stat().st_size > 10_000


@pytest.mark.parametrize("demo, figure", [("shrinkage", "shrinkage_demo.png"),
                                          ("gandk", "gandk_demo.png"),
                                          ("ellipses", "ellipses_demo.png")])
def test_other_demos(demo, figure, tmp_path, capsys):
    assert main(["--demo", demo, "--fast", "--output", str(tmp_path)]) == 0
    assert (tmp_path / figure).stat().st_size > 10_000
    assert "total time" in capsys.readouterr().out


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "skwass", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    assert "--demo {rbm,ot,ellipses,shrinkage,gandk}" in result.stdout


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ot_demo(capsys):
    assert main(["--demo", "ot", "--n", "100"]) == 0
    out = capsys.readouterr().out
    assert "exact OT (POT emd2)" in out and "step 5" in out
