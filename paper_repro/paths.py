"""Every path the paper reproduction uses, in one place.

Outputs go to ``figures/``: the repository's own in a source checkout (where
the committed figures live), else ``./figures`` under the current working
directory; ``python -m paper_repro --out DIR`` chooses another. Nothing is
ever written inside an installed package.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
#: The one matplotlib style of every figure (package data).
STYLE = PACKAGE / "matplotlibrc"


def in_source_checkout() -> bool:
    """True when this package sits in the project's repository (an editable install or PYTHONPATH)."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "figures").is_dir()


#: Figures (PNG), the small result tables (CSV) behind them and their index.
FIGURES = ROOT / "figures" if in_source_checkout() else Path.cwd() / "figures"
#: Per-point results of long sweeps, so an interrupted run resumes; never committed.
CACHE = PACKAGE / "_cache" if in_source_checkout() else FIGURES / ".sweep-cache"


def use_output(directory) -> None:
    """Write figures (and, outside a source checkout, the sweep cache) to ``directory``."""
    global FIGURES, CACHE
    FIGURES = Path(directory).resolve()
    if not in_source_checkout():
        CACHE = FIGURES / ".sweep-cache"


def study_store(name: str) -> Path:
    """Result store of study ``name``'s sweep (see ``layerq.sweep``; ``--fresh`` clears it)."""
    return CACHE / name
