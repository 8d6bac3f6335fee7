"""Figures in one call: latency percentiles against load with the SLO lines, and capacity bars."""

from __future__ import annotations

__all__ = ["plot_latency", "plot_capacity", "DEFAULT_LATENCY_PANELS"]

#: (column, axis label, target line in s or None) of the default latency panels: the paper's criterion
#: (median TTFT <= 0.5 s) and each default class's p99 TBT against its SLO.
DEFAULT_LATENCY_PANELS = (
    ("all_ttft_p50", "median TTFT (s)", 0.5),
    ("all_ttft_p99", "p99 TTFT (s)", None),
    ("strict_tbt_p99", "strict class: p99 TBT (s)", 0.1),
    ("relaxed_tbt_p99", "relaxed class: p99 TBT (s)", 0.5),
)


def plot_latency(table, *, x="qps", by="scheduler", panels=DEFAULT_LATENCY_PANELS, logy=True, title=None):
    """TTFT / TBT percentiles against the arrival rate, one curve per scheduler, SLOs as dotted lines.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (scheduler, rate), e.g. a ``queueing.sweep`` of
        :func:`~queueing.experiments.serve_experiment`.
    x, by : str
        Columns of the arrival rate (requests/s) and of the curve label.
    panels : sequence of (column, label, target or None)
        One panel per latency column; ``target`` (s) is drawn as a dotted
        line (an SLO or the TTFT criterion).
    logy : bool
        Logarithmic latency axes (queues diverge past capacity).

    Returns
    -------
    matplotlib.figure.Figure
        Legend outside the panels, right.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from layerq.plotting import check_columns, legend_outside, new_figure

    panels = [p for p in panels if p[0] in table.columns] or list(panels)
    check_columns(table, [x, by] + [p[0] for p in panels], "plot_latency")
    fig, axes = new_figure(len(panels), width=3.6, height=3.3)
    for ax, (column, label, target) in zip(axes, panels):
        for k, (name, curve) in enumerate(table.groupby(by, sort=False)):
            curve = curve.sort_values(x)
            ax.plot(curve[x], curve[column], marker="o", ms=3, color=f"C{k % 10}", label=str(name))
        if target is not None:
            ax.axhline(target, color="k", lw=0.8, ls=":", label="SLO / TTFT target")
        ax.set(xlabel="arrival rate (requests/s)", ylabel=label, yscale="log" if logy else "linear")
        if logy:  # plain labels at 1-2-5 steps: readable over a narrow range or many decades
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    legend_outside(fig, axes)
    return fig


def plot_capacity(table, *, by="scheduler", value="capacity", group=None, reference=None, reference_label=None,
                  ylabel="maximum serving capacity (requests/s)", title=None):
    """Bars of each scheduler's capacity (grouped by ``group`` if given), with an optional reference line.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per scheduler (and group), e.g. from
        :func:`~queueing.experiments.capacity_experiment` or ``queueing capacity --csv``.
    by, value, group : str
        Bar label, bar height and an optional column whose values get
        side-by-side bars (e.g. ``"criterion"``).
    reference : float, optional
        A horizontal line (e.g. ``queueing.lambda_star(...).rate``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    from layerq.plotting import check_columns, legend_outside, new_figure

    check_columns(table, [by, value, group], "plot_capacity")
    names = list(dict.fromkeys(table[by]))
    groups = [None] if group is None else list(dict.fromkeys(table[group]))
    fig, (ax,) = new_figure(1, width=max(4.0, 0.7 * len(names) * len(groups)), height=3.6)
    width = 0.8 / len(groups)
    pos = np.arange(len(names))
    for k, g in enumerate(groups):
        sub = table if g is None else table[table[group] == g]
        heights = sub.groupby(by, sort=False)[value].first().reindex(names)
        ax.bar(pos + (k - (len(groups) - 1) / 2) * width, heights, width=width, color=f"C{k % 10}",
               label=None if g is None else f"{group} = {g}")
    if reference is not None:
        ax.axhline(reference, color="0.4", lw=1, label=reference_label or "reference")
    ax.set_xticks(pos, [str(n) for n in names], rotation=25, ha="right")
    ax.set(ylabel=ylabel)
    ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title)
    legend_outside(fig, [ax])
    return fig
