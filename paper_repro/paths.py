"""Every path the paper reproduction uses, in one place."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Figures (PNG) and the small result tables (CSV) behind them; committed.
FIGURES = ROOT / "figures"
#: Per-point results of long sweeps, so an interrupted run resumes; not committed.
CACHE = Path(__file__).resolve().parent / "_cache"
STYLE = Path(__file__).resolve().parent / "matplotlibrc"
