"""Numpydoc text that several estimators share, written once.

A docstring names a fragment on a line of its own, such as ``{fit_parameters}``,
indented like the section it stands for; :func:`fill_doc` replaces that line
with the fragment, every line indented the same. The filled text becomes the
docstring itself (``__doc__``), so ``help``, doctest, numpydoc and sphinx all
read the complete sections, as with MNE's ``fill_doc`` or pandas' ``@doc``.
"""

import inspect
import re
import textwrap

# A line holding nothing but ``{name}``: braces elsewhere in a docstring
# (``{"sigmoid", "identity"}``, set notation) are left alone.
_PLACEHOLDER = re.compile(r"^([ \t]*)\{(\w+)\}[ \t]*$", re.MULTILINE)


def _method_sections(X, returns):
    """Parameters and Returns of a method ``(X, y=None)`` that ignores ``y``."""
    return (
        "Parameters\n"
        "----------\n"
        "X : array-like of shape (n_samples, n_features)\n"
        f"    {X}\n"
        "y : Ignored\n"
        "    Not used, present for API consistency.\n"
        "\n"
        "Returns\n"
        "-------\n"
        f"{returns}"
    )


_FITTED = "self : object\n    The fitted estimator."

FRAGMENTS = {
    # -- class docstrings --
    "n_jobs": (
        "n_jobs : int or None, default=None\n"
        "    Threads for the kernels and BLAS while the model fits and scores: ``None``\n"
        "    keeps the process's setting (one thread per task in a dask worker),\n"
        "    ``-1`` means all cores; see :func:`skwass.utils.effective_n_threads`."
    ),
    "n_features_in_": "n_features_in_ : int\n    Number of features seen during fit.",
    # -- method docstrings --
    "fit_parameters": _method_sections("Training data.", _FITTED),
    "network_fit_parameters": _method_sections(
        'Training data (in ``[0, 1]`` with ``out_activation="sigmoid"``).', _FITTED
    ),
    "partial_fit_parameters": _method_sections(
        "A batch of training data.", "self : object\n    The updated estimator."
    ),
    "score_parameters": _method_sections("Data to score.", "score : float"),
    "sample_parameters": (
        "Parameters\n"
        "----------\n"
        "n_samples : int, default=1\n"
        "    Number of points to draw.\n"
        "random_state : int, RandomState instance or None, default=None\n"
        "    Seeds the draw.\n"
        "\n"
        "Returns\n"
        "-------\n"
        "X : ndarray of shape (n_samples, n_features)"
    ),
    "predict_parameters": (
        "Parameters\n"
        "----------\n"
        "X : array-like of shape (n_samples, n_features)\n"
        "    The points to assign.\n"
        "\n"
        "Returns\n"
        "-------\n"
        "labels : ndarray of shape (n_samples,)\n"
        "    The mixture component of each point."
    ),
    "inverse_transform_parameters": (
        "Parameters\n"
        "----------\n"
        "Z : array-like of shape (n_samples, n_components)\n"
        "    Latent codes.\n"
        "\n"
        "Returns\n"
        "-------\n"
        "X : ndarray of shape (n_samples, n_features)\n"
        "    Their images under the decoder."
    ),
}


def _fill(doc):
    if doc is None:  # python -OO strips docstrings
        return None

    def expand(match):
        indent, name = match.groups()
        if name not in FRAGMENTS:
            raise KeyError(f"No docstring fragment {name!r}; known: {sorted(FRAGMENTS)}.")
        return textwrap.indent(FRAGMENTS[name], indent)

    return _PLACEHOLDER.sub(expand, doc)


def fill_doc(obj):
    """Expand the fragment lines ``{name}`` of ``obj``'s docstring (a class: also its methods').

    Parameters
    ----------
    obj : class or function
        Modified in place: its ``__doc__`` and, for a class, that of each function
        defined in its body.

    Returns
    -------
    obj : class or function
        The same object, so that ``fill_doc`` serves as a decorator.

    Examples
    --------
    >>> @fill_doc
    ... def fit(X, y=None):
    ...     '''Fit.
    ...
    ...     {fit_parameters}
    ...     '''
    >>> print(fit.__doc__)
    Fit.
    <BLANKLINE>
        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
    <BLANKLINE>
        Returns
        -------
        self : object
            The fitted estimator.
    <BLANKLINE>
    """
    obj.__doc__ = _fill(obj.__doc__)
    if inspect.isclass(obj):
        for member in vars(obj).values():
            if inspect.isfunction(member):
                member.__doc__ = _fill(member.__doc__)
    return obj
