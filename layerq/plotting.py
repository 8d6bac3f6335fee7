"""What the one-call plots of both toolkits share: a figure, and a legend that never covers data."""

from __future__ import annotations

__all__ = ["new_figure", "legend_outside", "check_columns"]


def check_columns(table, columns, what: str) -> None:
    missing = [c for c in columns if c is not None and c not in table.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; the table has {list(table.columns)}")


def new_figure(n_panels: int = 1, width: float = 5.0, height: float = 3.6):
    """A figure with ``n_panels`` side by side (constrained layout, room on the right for the legend)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n_panels, figsize=(width * n_panels + 2.2, height), layout="constrained",
                             squeeze=False)
    return fig, list(axes[0])


def legend_outside(fig, axes) -> None:
    """One legend for the figure, right of the panels (labels of every panel, each once)."""
    handles, labels = {}, []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    if labels:
        fig.legend([handles[lab] for lab in labels], labels, loc="outside right upper", frameon=False)
