"""Tests of skwass.plotting: the artists each helper creates, on the Agg backend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from skwass.plotting import (  # noqa: E402
    plot_binary_samples,
    plot_ellipsoids,
    plot_pca_samples,
    plot_reconstruction_errors,
    plot_shrinkage_curves,
)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.fixture
def ax3d():
    fig = plt.figure()
    yield fig.add_subplot(projection="3d")
    plt.close(fig)


def test_binary_samples_grid_layout(ax):
    rng = np.random.default_rng(0)
    X = (rng.random((7, 12)) < 0.5).astype(float)
    out = plot_binary_samples(X, image_shape=(3, 4), n_cols=3, gap=1, ax=ax)
    assert out is ax
    assert len(ax.images) == 1
    grid = ax.images[0].get_array()
    # 3 rows of 3-pixel images and 3 columns of 4-pixel images, 1-pixel gaps.
    assert grid.shape == (3 * 4 - 1, 3 * 5 - 1)
    # Image k sits at row k // 3, column k % 3; the gaps and empty slots are masked.
    for k in range(7):
        top, left = 4 * (k // 3), 5 * (k % 3)
        np.testing.assert_array_equal(grid[top:top + 3, left:left + 4], X[k].reshape(3, 4))
    assert grid.mask[3, :].all() and grid.mask[:, 4].all()
    assert grid.mask[8:, 5:].all()  # slots 7 and 8 are empty
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_binary_samples_square_default_and_errors(ax):
    plot_binary_samples(np.zeros((4, 9)), ax=ax, title="zeros")
    assert ax.images[0].get_array().shape == (2 * 4 - 1, 2 * 4 - 1)
    assert ax.get_title() == "zeros"
    with pytest.raises(ValueError, match="square"):
        plot_binary_samples(np.zeros((2, 10)), ax=ax)
    with pytest.raises(ValueError, match="does not match"):
        plot_binary_samples(np.zeros((2, 10)), image_shape=(3, 3), ax=ax)


def test_pca_samples_positions_and_legend(ax):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)) * [5, 3, 1, 1, 1, 1]
    samples = {"A": X[:10] * 0.5, "B": X[10:25]}
    plot_pca_samples(X, samples, ax=ax)
    pca = PCA(n_components=2).fit(X)
    assert len(ax.collections) == 3
    for collection, points in zip(ax.collections, [X, *samples.values()], strict=True):
        np.testing.assert_allclose(collection.get_offsets(), pca.transform(points))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data", "A", "B"]
    assert ax.get_xlabel() == "PC 1"


def test_pca_samples_given_pca_and_jitter(ax):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    pca = PCA(n_components=2).fit(X[:15])
    plot_pca_samples(X, X[:5], pca=pca, jitter=0.1, ax=ax)
    offsets = ax.collections[1].get_offsets()
    shift = offsets - pca.transform(X[:5])
    assert 0 < np.abs(shift).max() < 1.0  # jittered, but only slightly
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data", "model"]


def test_ellipsoids_2d_outlines_and_limits(ax):
    shapes = np.array([np.diag([2.0, 0.5]), [[1.0, 1.0], [0.0, 1.0]]])
    centers = np.array([[0.0, 0.0], [5.0, -1.0]])
    X = np.array([[-3.0, 0.0], [6.0, 3.0]])
    plot_ellipsoids(shapes, centers, X=X, labels=[0, 1], colors=["r", "b"], ax=ax)
    assert len(ax.lines) == 2
    for line, A, c in zip(ax.lines, shapes, centers, strict=True):
        xy = line.get_xydata()
        # Every outline point is on the boundary: |A^-1 (x - c)| = 1.
        np.testing.assert_allclose(np.linalg.norm((xy - c) @ np.linalg.inv(A).T, axis=1), 1)
    assert len(ax.collections) == 1  # the scatter of X
    x_low, x_high = ax.get_xlim()
    y_low, y_high = ax.get_ylim()
    assert x_low < -3 and x_high > 6 and y_low < -2 and y_high > 3


def test_ellipsoids_3d_wireframes(ax3d):
    shapes = np.stack([np.eye(3), np.diag([3.0, 1.0, 0.5])])
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    plot_ellipsoids(shapes, centers, ax=ax3d, n_points=12)
    assert len(ax3d.collections) == 2
    assert ax3d.get_xlim()[0] < -1 and ax3d.get_xlim()[1] > 13
    assert ax3d.get_zlim()[0] < -1 and ax3d.get_zlim()[1] > 1


def test_ellipsoids_checks_dimensions(ax):
    with pytest.raises(ValueError, match="3-D Axes"):
        plot_ellipsoids(np.eye(3)[None], np.zeros((1, 3)), ax=ax)
    with pytest.raises(ValueError, match="shapes must have shape"):
        plot_ellipsoids(np.eye(3)[None], np.zeros((1, 2)), ax=ax)


def test_shrinkage_curves_lines_and_markers(ax):
    thetas = np.linspace(0, 1, 21)
    curves = {"gamma = 0.1": (thetas - 0.7) ** 2, "gamma = 1": (thetas - 0.2) ** 2 + 1}
    plot_shrinkage_curves(thetas, curves, fitted={"gamma = 0.1": (0.69, 0.0001)}, ax=ax)
    # Per curve a line and its minimum marker, then the fitted dot.
    assert len(ax.lines) == 5
    np.testing.assert_allclose(ax.lines[0].get_xdata(), thetas)
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [0.7])
    np.testing.assert_allclose(ax.lines[3].get_xdata(), [0.2])
    np.testing.assert_allclose(ax.lines[4].get_xydata(), [[0.69, 0.0001]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)
    with pytest.raises(ValueError, match="shape"):
        plot_shrinkage_curves(thetas, {"bad": thetas[:3]}, ax=ax)


def test_reconstruction_errors_stacked_bars(ax):
    results = {"KDE": (2.0, 1.5, 0.5), "RBM": (1.2, 0.9, 0.3), "RBM-W": (0.4, 0.6)}
    plot_reconstruction_errors(results, ax=ax, title="Completion")
    assert len(ax.patches) == 6
    bias, variance = ax.patches[:3], ax.patches[3:]
    np.testing.assert_allclose([p.get_width() for p in bias], [1.5, 0.9, 0.4])
    np.testing.assert_allclose([p.get_width() for p in variance], [0.5, 0.3, 0.6])
    np.testing.assert_allclose([p.get_x() for p in variance], [1.5, 0.9, 0.4])
    # First model on top, labels on the y axis, totals written at the bar ends.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["KDE", "RBM", "RBM-W"]
    assert bias[0].get_y() > bias[2].get_y()
    assert [t.get_text().strip() for t in ax.texts] == ["2.00", "1.20", "1.00"]
    assert ax.get_xlim()[1] >= 2.0 and ax.get_title() == "Completion"
    with pytest.raises(ValueError, match="bias, variance"):
        plot_reconstruction_errors({"bad": (1.0,)}, ax=ax)


def test_helpers_never_show(monkeypatch, ax):
    def fail():
        raise AssertionError("plt.show() called by library code")

    monkeypatch.setattr(plt, "show", fail)
    plot_binary_samples(np.ones((2, 4)), ax=ax)
    plot_reconstruction_errors({"a": (1.0, 0.5)}, ax=ax)
