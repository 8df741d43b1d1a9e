"""Shared docstring fragments: skwass.utils._docstrings.fill_doc."""

import inspect

import pytest

import skwass
from skwass.utils._docstrings import _PLACEHOLDER, FRAGMENTS, fill_doc


def test_fill_doc_indents_each_fragment_as_its_line():
    @fill_doc
    class Model:
        """A model.

        Parameters
        ----------
        kind : {"a", "b"}, default="a"
            Braces that are not a whole line stay.
        {n_jobs}
        """

        def fit(self, X, y=None):
            """Fit.

            {fit_parameters}

            Notes
            -----
            After the fragment.
            """

    # cleandoc strips the indentation common to the lines after the first: the
    # fragments come back whole only if each line got its placeholder's indentation.
    assert inspect.cleandoc(Model.__doc__) == (
        'A model.\n\nParameters\n----------\nkind : {"a", "b"}, default="a"\n'
        "    Braces that are not a whole line stay.\n" + FRAGMENTS["n_jobs"]
    )
    assert inspect.cleandoc(Model.fit.__doc__) == (
        "Fit.\n\n" + FRAGMENTS["fit_parameters"] + "\n\nNotes\n-----\nAfter the fragment."
    )


def test_fill_doc_refuses_an_unknown_fragment():
    def f():
        """Doc.

        {no_such_fragment}
        """

    with pytest.raises(KeyError, match="no_such_fragment"):
        fill_doc(f)


@pytest.mark.parametrize("name", [n for n in skwass.__all__ if inspect.isclass(getattr(skwass, n))])
def test_public_docstrings_have_no_unfilled_fragment(name):
    cls = getattr(skwass, name)
    docs = {name: cls.__doc__}
    docs.update({f"{name}.{attr}": getattr(member, "__doc__", None)
                 for attr, member in vars(cls).items() if inspect.isfunction(member)})
    unfilled = {where: _PLACEHOLDER.search(doc).group(0).strip()
                for where, doc in docs.items() if doc and _PLACEHOLDER.search(doc)}
    assert not unfilled


def test_filled_sections_parse_as_numpydoc():
    docscrape = pytest.importorskip("numpydoc.docscrape")
    doc = docscrape.FunctionDoc(skwass.MLPGenerator.fit)
    assert [(p.name, p.type) for p in doc["Parameters"]] == [
        ("X", "array-like of shape (n_samples, n_features)"), ("y", "Ignored")]
    assert [(p.name, p.type) for p in doc["Returns"]] == [("self", "object")]
    class_doc = docscrape.ClassDoc(skwass.EllipseMKE)
    assert "n_jobs" in [p.name for p in class_doc["Parameters"]]
    assert class_doc["Attributes"][-1].name == "n_features_in_"
