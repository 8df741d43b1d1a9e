"""Plotting helpers: sample grids, PCA overlays, ellipsoids, loss curves, error bars."""

from math import ceil, isqrt

import numpy as np

_DATA_COLOR = "0.7"


def _axes(ax, projection=None):
    """``ax``, or a new Axes on the current figure (3-D when asked)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    if projection is None:
        return plt.gca()
    return plt.gcf().add_subplot(projection=projection)


def _colors(n):
    import matplotlib.pyplot as plt

    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    return [cycle[i % len(cycle)] for i in range(n)]


def plot_binary_samples(X, image_shape=None, *, n_cols=None, gap=1, ax=None, title=None,
                        cmap="gray_r"):
    """Draw images (rows of ``X``) as one grid, in a single ``imshow``.

    Pixels in [0, 1] are drawn from white (0) to black (1); the separating
    gaps are drawn in the colormap's "bad" color (light gray).

    Parameters
    ----------
    X : array-like of shape (n_images, height * width)
        Images, one flattened per row, with values in [0, 1].
    image_shape : tuple (height, width) or None, default=None
        ``None`` takes square images.
    n_cols : int or None, default=None
        Images per row of the grid; ``None`` is ``ceil(sqrt(n_images))``.
    gap : int, default=1
        Pixels between neighbouring images.
    ax : matplotlib Axes or None, default=None
        Where to draw; ``None`` uses the current Axes.
    title : str or None, default=None
        Axes title.
    cmap : str, default="gray_r"
        Colormap.

    Returns
    -------
    ax : matplotlib Axes
        The Axes, holding one image of shape
        ``(n_rows * (height + gap) - gap, n_cols * (width + gap) - gap)``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skwass.plotting import plot_binary_samples
    >>> fig, ax = plt.subplots()
    >>> ax = plot_binary_samples(np.eye(6, 4), image_shape=(2, 2), n_cols=3, ax=ax)
    >>> ax.images[0].get_array().shape
    (5, 8)
    >>> plt.close(fig)
    """
    import matplotlib

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array of flattened images, got {X.shape}.")
    if image_shape is None:
        side = isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise ValueError(
                f"{X.shape[1]} pixels are not a square image; pass image_shape=(height, width)."
            )
        image_shape = (side, side)
    height, width = image_shape
    if height * width != X.shape[1]:
        raise ValueError(f"image_shape {image_shape} does not match {X.shape[1]} pixels.")
    n = X.shape[0]
    n_cols = min(n, n_cols or ceil(np.sqrt(n)))
    n_rows = ceil(n / n_cols)
    grid = np.full((n_rows * (height + gap) - gap, n_cols * (width + gap) - gap), np.nan)
    for k, image in enumerate(X.reshape(n, height, width)):
        top, left = divmod(k, n_cols)
        top, left = top * (height + gap), left * (width + gap)
        grid[top:top + height, left:left + width] = image
    colormap = matplotlib.colormaps[cmap].with_extremes(bad="0.85")
    ax = _axes(ax)
    ax.imshow(np.ma.masked_invalid(grid), cmap=colormap, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def plot_pca_samples(X, samples, *, pca=None, jitter=0.0, ax=None, s=6, random_state=0):
    """Scatter data and model samples on the first two principal axes of the data.

    As Figure 4 of Montavon et al. (2016): the data in gray, each model's
    sample in its own color, all projected by the same PCA.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data; the PCA is fitted on it unless ``pca`` is given.
    samples : dict of str to array-like, or array-like
        Model samples by label (a single array is labelled ``"model"``).
    pca : fitted transformer or None, default=None
        Anything with ``transform`` to two columns; ``None`` fits
        ``PCA(n_components=2)`` on ``X``.
    jitter : float, default=0.0
        Standard deviation of Gaussian noise added to the projected points
        (binary data has many coincident points).
    ax : matplotlib Axes or None, default=None
        Where to draw; ``None`` uses the current Axes.
    s : float, default=6
        Marker size.
    random_state : int, default=0
        Seed of the jitter.

    Returns
    -------
    ax : matplotlib Axes
        With one scatter collection for the data, then one per sample, and a
        legend.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skwass.plotting import plot_pca_samples
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 5))
    >>> fig, ax = plt.subplots()
    >>> ax = plot_pca_samples(X, {"shrunk": 0.3 * X[:20]}, ax=ax)
    >>> len(ax.collections), [t.get_text() for t in ax.get_legend().get_texts()]
    (2, ['data', 'shrunk'])
    >>> plt.close(fig)
    """
    X = np.asarray(X, dtype=np.float64)
    if not isinstance(samples, dict):
        samples = {"model": samples}
    if pca is None:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2).fit(X)
    rng = np.random.default_rng(random_state)

    def project(A):
        Z = np.asarray(pca.transform(np.asarray(A, dtype=np.float64)))[:, :2]
        return Z + jitter * rng.standard_normal(Z.shape) if jitter else Z

    ax = _axes(ax)
    ax.scatter(*project(X).T, s=s, c=_DATA_COLOR, label="data")
    for color, (label, sample) in zip(_colors(len(samples)), samples.items(), strict=True):
        ax.scatter(*project(sample).T, s=s, color=color, label=label)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(loc="best", fontsize="small", markerscale=2)
    return ax


def plot_ellipsoids(shapes, centers, *, X=None, labels=None, ax=None, n_points=24,
                    colors=None):
    """Draw ellipsoids ``{A_k z + c_k : |z| <= 1}`` (3-D wireframes or 2-D outlines).

    Parameters
    ----------
    shapes : array-like of shape (n_components, d, d)
        Matrices ``A_k`` (``EllipseMKE.shapes_``), with ``d`` 2 or 3.
    centers : array-like of shape (n_components, d)
        Centers ``c_k`` (``EllipseMKE.centers_``).
    X : array-like of shape (n_samples, d) or None, default=None
        Points to scatter underneath.
    labels : array-like of shape (n_samples,) or None, default=None
        Classes coloring the points.
    ax : matplotlib Axes or None, default=None
        A 3-D Axes for ``d = 3``; ``None`` adds one to the current figure
        (a plain Axes for ``d = 2``).
    n_points : int, default=24
        Resolution of each outline (longitudes; half as many latitudes).
    colors : list of colors or None, default=None
        One per ellipsoid; ``None`` is black.

    Returns
    -------
    ax : matplotlib Axes
        With one line (``d = 2``) or one wireframe collection (``d = 3``) per
        ellipsoid, and limits covering the ellipsoids and the points.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skwass.plotting import plot_ellipsoids
    >>> fig, ax = plt.subplots()
    >>> ax = plot_ellipsoids([np.diag([2.0, 1.0])], [[0.0, 0.0]], ax=ax)
    >>> len(ax.lines), bool(ax.get_xlim()[1] >= 2.0)
    (1, True)
    >>> plt.close(fig)
    """
    shapes = np.asarray(shapes, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] not in (2, 3):
        raise ValueError(f"centers must have shape (n_components, 2 or 3), got {centers.shape}.")
    K, d = centers.shape
    if shapes.shape != (K, d, d):
        raise ValueError(f"shapes must have shape {(K, d, d)}, got {shapes.shape}.")
    colors = ["k"] * K if colors is None else list(colors)
    ax = _axes(ax, projection="3d" if d == 3 else None)
    is_3d = getattr(ax, "name", "") == "3d"
    if (d == 3) != is_3d:
        raise ValueError(f"{d}-D ellipsoids need a {'3-D' if d == 3 else '2-D'} Axes.")
    extents = [centers - np.linalg.norm(shapes, axis=2), centers + np.linalg.norm(shapes, axis=2)]
    if X is not None:
        X = np.asarray(X, dtype=np.float64)
        c = None if labels is None else [
            _colors(10)[int(i) % 10] for i in np.unique(labels, return_inverse=True)[1]
        ]
        ax.scatter(*X[:, :d].T, s=6, c=c if c is not None else _DATA_COLOR)
        extents += [X[:, :d], X[:, :d]]
    if d == 2:
        t = np.linspace(0, 2 * np.pi, 4 * n_points + 1)
        circle = np.stack([np.cos(t), np.sin(t)], axis=1)
        for A, center, color in zip(shapes, centers, colors, strict=True):
            ax.plot(*(circle @ A.T + center).T, color=color, linewidth=1.5)
    else:
        u, v = np.meshgrid(np.linspace(0, 2 * np.pi, n_points + 1),
                           np.linspace(0, np.pi, n_points // 2 + 1))
        sphere = np.stack([np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v)], axis=-1)
        for A, center, color in zip(shapes, centers, colors, strict=True):
            surface = sphere @ A.T + center
            ax.plot_wireframe(*np.moveaxis(surface, -1, 0), color=color, linewidth=0.4)
    low = np.min([e.min(axis=0) for e in extents], axis=0)
    high = np.max([e.max(axis=0) for e in extents], axis=0)
    margin = 0.05 * np.maximum(high - low, 1e-12)
    setters = [ax.set_xlim, ax.set_ylim] + ([ax.set_zlim] if d == 3 else [])
    for setter, lo, hi, m in zip(setters, low, high, margin, strict=True):
        setter(lo - m, hi + m)
    return ax


def plot_shrinkage_curves(thetas, curves, *, fitted=None, ax=None, mark_minimum=True):
    """Plot loss curves over a scale ``theta`` (Figure 5 of Montavon et al. 2016).

    Parameters
    ----------
    thetas : array-like of shape (n_thetas,)
        Model scales on the horizontal axis.
    curves : dict of str to array-like of shape (n_thetas,)
        Loss values by label (for example ``"gamma = 0.1"``).
    fitted : dict of str to (float, float) or None, default=None
        ``(theta, loss)`` of a fitted model per label, drawn as black dots.
    ax : matplotlib Axes or None, default=None
        Where to draw; ``None`` uses the current Axes.
    mark_minimum : bool, default=True
        Mark the grid minimum of each curve with an open circle.

    Returns
    -------
    ax : matplotlib Axes
        One line per curve, then one marker line per minimum and per fitted
        point.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skwass.plotting import plot_shrinkage_curves
    >>> thetas = np.linspace(0, 1, 11)
    >>> fig, ax = plt.subplots()
    >>> ax = plot_shrinkage_curves(thetas, {"a": (thetas - 0.6) ** 2}, ax=ax,
    ...                            mark_minimum=False)
    >>> len(ax.lines), ax.get_xlabel()
    (1, 'model scale theta')
    >>> plt.close(fig)
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    ax = _axes(ax)
    for color, (label, curve) in zip(_colors(len(curves)), curves.items(), strict=True):
        curve = np.asarray(curve, dtype=np.float64)
        if curve.shape != thetas.shape:
            raise ValueError(f"curve {label!r} has shape {curve.shape}, thetas {thetas.shape}.")
        ax.plot(thetas, curve, color=color, label=label)
        if mark_minimum:
            best = int(np.argmin(curve))
            ax.plot(thetas[best], curve[best], "o", mfc="none", color=color)
    for theta, loss in (fitted or {}).values():
        ax.plot(theta, loss, "k.", markersize=8)
    ax.set_xlabel("model scale theta")
    ax.set_ylabel("loss")
    ax.legend(fontsize="small")
    return ax


def plot_reconstruction_errors(results, *, ax=None, title=None):
    """Horizontal bars of expected reconstruction errors split into bias and variance.

    As Figure 7 of Montavon et al. (2016); the numbers come from
    :func:`skwass.metrics.expected_hamming_error` with
    ``return_decomposition=True``.

    Parameters
    ----------
    results : dict of str to tuple
        Per model, ``(error, bias, variance)`` or ``(bias, variance)``.
    ax : matplotlib Axes or None, default=None
        Where to draw; ``None`` uses the current Axes.
    title : str or None, default=None
        Axes title.

    Returns
    -------
    ax : matplotlib Axes
        Two bar patches per model (bias, then variance stacked on it), the
        first model at the top.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skwass.plotting import plot_reconstruction_errors
    >>> fig, ax = plt.subplots()
    >>> ax = plot_reconstruction_errors({"RBM": (1.5, 1.0, 0.5), "RBM-W": (0.8, 0.2)}, ax=ax)
    >>> [round(float(p.get_width()), 2) for p in ax.patches]
    [1.0, 0.8, 0.5, 0.2]
    >>> plt.close(fig)
    """
    names = list(results)
    parts = []
    for name in names:
        values = tuple(float(v) for v in results[name])
        if len(values) not in (2, 3):
            raise ValueError(f"results[{name!r}] must be (error, bias, variance) or "
                             f"(bias, variance), got {len(values)} values.")
        parts.append(values[-2:])
    bias, variance = (np.array(p) for p in zip(*parts, strict=True))
    ax = _axes(ax)
    positions = np.arange(len(names))[::-1]
    ax.barh(positions, bias, height=0.6, color="0.35", label="bias")
    ax.barh(positions, variance, height=0.6, left=bias, color="0.75", label="variance")
    for y, total in zip(positions, bias + variance, strict=True):
        ax.text(total, y, f" {total:.2f}", va="center", fontsize="small")
    ax.set_yticks(positions, names)
    ax.set_xlim(0, 1.2 * max(float(np.max(bias + variance)), 1e-12))
    ax.set_ylim(-1.2, len(names) - 0.5)  # a free band below the bars for the legend
    ax.set_xlabel("expected Hamming error")
    ax.legend(loc="lower right", fontsize="small", ncol=2)
    if title is not None:
        ax.set_title(title)
    return ax


def save_figures(name, directory=None):
    """Save every open matplotlib figure as ``<directory>/<name>-<k>.png``.

    The examples call this before ``plt.show()`` so that a plain
    ``python examples/.../plot_x.py`` leaves its figures on disk.

    Parameters
    ----------
    name : str
        File name stem.
    directory : str or path-like, default=None
        Where to write; ``None`` reads the environment variable
        ``SKWASS_FIGURE_DIR``, else ``"skwass-figures"`` in the working directory.

    Returns
    -------
    paths : list of pathlib.Path
        The files written, one per open figure, in figure-number order.

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from skwass.plotting import save_figures
    >>> plt.close("all")
    >>> fig = plt.figure()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_figures("demo", tmp)]
    ['demo-1.png']
    >>> plt.close("all")
    """
    import os
    from pathlib import Path

    import matplotlib.pyplot as plt

    if directory is None:
        directory = os.environ.get("SKWASS_FIGURE_DIR", "skwass-figures")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, number in enumerate(plt.get_fignums(), start=1):
        path = directory / f"{name}-{k}.png"
        plt.figure(number).savefig(path, dpi=100, bbox_inches="tight")
        paths.append(path)
    return paths
