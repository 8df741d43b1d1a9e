"""Run every gallery example in fast mode, so that an example can never silently rot.

Each ``examples/*/plot_*.py`` runs in its own process with
``SKWASS_EXAMPLES_FAST=1`` (fewer iterations, smaller samples) and the Agg
backend, as ``make -C doc html`` runs them; all together take about a minute on
two cores.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*/plot_*.py"))


def test_examples_are_found():
    # A glob that silently matches nothing would make the test below vacuous.
    assert len(SCRIPTS) >= 5
    for script in SCRIPTS:
        assert (script.parent / "README.txt").exists(), script.parent


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_runs_in_fast_mode(script, tmp_path):
    env = {**os.environ, "SKWASS_EXAMPLES_FAST": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{script.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    assert result.stdout.strip(), f"{script.name} printed nothing"
    # Each example saves its figures; none may be a blank canvas.
    import matplotlib.image

    figures = sorted((tmp_path / "skwass-figures").glob("*.png"))
    assert figures, f"{script.name} saved no figure"
    for figure in figures:
        pixels = matplotlib.image.imread(figure)
        assert pixels[..., :3].std() > 0.01, f"{figure.name} is blank"
