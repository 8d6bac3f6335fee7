"""Figures in one call: hit (or miss) ratio against cache size, one curve per policy, model overlaid."""

from __future__ import annotations

__all__ = ["plot_hit_ratio"]


def plot_hit_ratio(table, *, x="capacity", y="hit_ratio", by="policy", model="model_hit_ratio", panel=None,
                   miss=False, logx=None, xlabel=None, title=None):
    """Hit-ratio curves against cache size for several policies, with the model's curve over each.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (policy, cache size), e.g. a ``layercache.sweep`` of
        :func:`~layercache.experiments.irm_experiment` or the output of
        ``layercache simulate --csv``.
    x, y, by : str
        Columns of the cache size, the simulated ratio and the curve label.
    model : str or None
        Column of the modelled ratio (drawn as a black dashed line where it
        is not NaN); ignored when absent from ``table``.
    panel : str, optional
        Column whose values get one panel each (e.g. ``"alpha"``).
    miss : bool
        Plot ``1 - ratio`` (miss ratio) instead.
    logx : bool, optional
        Logarithmic cache-size axis; default when sizes span over 20x.
    xlabel, title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Legend outside the panels, right.
    """
    from layerq.plotting import check_columns, legend_outside, new_figure

    check_columns(table, [x, y, by, panel], "plot_hit_ratio")
    has_model = model is not None and model in table.columns and table[model].notna().any()
    panels = [None] if panel is None else list(dict.fromkeys(table[panel]))
    fig, axes = new_figure(len(panels))
    sizes = table[x].to_numpy(dtype=float)
    if logx is None:
        logx = sizes.min() > 0 and sizes.max() / sizes.min() > 20
    name = "miss ratio" if miss else "hit ratio"
    for ax, value in zip(axes, panels):
        sub = table if panel is None else table[table[panel] == value]
        for k, (label, curve) in enumerate(sub.groupby(by, sort=False)):
            curve = curve.sort_values(x)
            ratio = 1 - curve[y] if miss else curve[y]
            ax.plot(curve[x], ratio, marker="o", ms=4, color=f"C{k % 10}", label=f"{label} (simulation)")
            if has_model and curve[model].notna().any():
                m = 1 - curve[model] if miss else curve[model]
                ax.plot(curve[x], m, "--", color="k", lw=1, label="model")
        ax.set(xlabel=xlabel or f"cache size ({x})", ylabel=name, xscale="log" if logx else "linear")
        if panel is not None:
            ax.set_title(f"{panel} = {value}")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    legend_outside(fig, axes)
    return fig
