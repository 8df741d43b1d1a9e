"""Sphinx configuration of the skwass documentation.

Build with ``make -C doc html`` (needs ``pip install ".[docs]"``). The gallery
runs every script under ``examples/``; the Makefile sets
``SKWASS_EXAMPLES_FAST=1`` (fewer iterations) unless it is already set, so
``SKWASS_EXAMPLES_FAST=0 make -C doc html`` runs the full examples.
"""

import os
import warnings

import skwass

os.environ.setdefault("SKWASS_EXAMPLES_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault(
    "SKWASS_FIGURE_DIR", os.path.join(os.path.dirname(__file__), "_build", "example_figures")
)

project = "skwass"
author = "skwass developers"
copyright = "skwass developers"
version = release = skwass.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*/*.ipynb", "auto_examples/*/*.py", "**.zip", "**.md5"]
default_role = "literal"

autosummary_generate = True
# Methods inherited from scikit-learn (set_params, set_output, metadata routing)
# are documented there; their docstrings link into scikit-learn's own pages.
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The build must work offline, so no intersphinx: references to other
# projects' objects stay plain text instead of failing the nitpicky build.
nitpick_ignore_regex = [(r"py:.*", r"(numpy|scipy|sklearn|matplotlib|ot|types)\..*")]

html_theme = "pydata_sphinx_theme"
html_title = f"skwass {release}"
html_static_path = []
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
}

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    # Repo scripts that print a paper's numbers, not gallery examples.
    "ignore_pattern": r"_ablations\.py$",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "show_memory": False,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skwass",),
}

# The examples silence the estimators' ConvergenceWarning themselves; plt.show()
# under Agg is a no-op that would otherwise warn.
warnings.filterwarnings("ignore", message=".*non-interactive.*")
