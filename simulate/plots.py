"""The sweep's three figures, drawn with matplotlib's Agg canvas into PNG bytes.

The object-oriented API (Figure + FigureCanvasAgg) is used instead of pyplot so
that no global figure state or interactive backend is involved.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .estimators import Z95

HEAD_STYLE = {
    "single": {"color": "tab:blue", "marker": "o", "label": "single: q = β(μa+μb)"},
    "multi": {"color": "tab:orange", "marker": "s", "label": "multi: q1 = βμa, q2 = βμb"},
    "seed-multi": {"color": "tab:green", "marker": "^", "label": "seed-multi: q1 = q2 = β(μa+μb)"},
}


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def _variance_panel(ax, x_key: str, points: list[dict], curves: list[dict]) -> None:
    """Simulation points with 95% error bars over the quadrature curves and the sheet's formula."""
    for heads, style in HEAD_STYLE.items():
        cur = sorted((c for c in curves if c["heads"] == heads), key=lambda c: c[x_key])
        if cur:
            ax.plot([c[x_key] for c in cur], [c["pred_total_variance"] for c in cur], "-",
                    color=style["color"], lw=1.2, alpha=0.8,
                    dashes=(5, 3) if heads == "seed-multi" else (None, None))
        pts = [p for p in points if p["heads"] == heads]
        if pts:
            x = np.array([p[x_key] for p in pts])
            y = np.array([p["total_variance"] for p in pts])
            err = Z95 * np.array([p["total_variance_stderr"] for p in pts])
            # Shift seed-multi's markers a little so they do not hide single's.
            shift = 1.04 if heads == "seed-multi" else 1.0
            ax.errorbar(x * shift, y, yerr=err, fmt=style["marker"], ms=4, color=style["color"],
                        capsize=2, lw=1, label=style["label"] + " (simulated, 95% CI)")
    sheet = sorted((c for c in curves if c["heads"] == "single" and c["sheet_total_variance"] is not None),
                   key=lambda c: c[x_key])
    if sheet:
        x = np.array([c[x_key] for c in sheet])
        y = np.array([c["sheet_total_variance"] for c in sheet])
        # the formula's value depends on the value vectors: say at which ones it is drawn
        where = f" at these v_a, v_b (d = {points[0]['d']})" if points and "d" in points[0] else ""
        if np.all(y > 0):
            ax.plot(x, y, ":", color="black", lw=1.5, label=f"answer sheet's formula (V_a+V_b)·Var[t]{where}")
        else:
            # A log axis cannot show a negative "variance"; say so rather than drop it.
            ax.plot(x, np.abs(y), ":", color="black", lw=1.5,
                    label=f"|answer sheet's formula|{where}: negative here (down to {y.min():.3g})")
    ax.plot([], [], "-", color="gray", label="quadrature (derivations), iso_var → 0")
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_ylabel("tr Cov[c]")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _variance_figure(axis: str, points: list[dict], curves: list[dict], xlabel: str, title: str) -> bytes:
    fig = Figure(figsize=(7.5, 5))
    ax = fig.add_subplot()
    _variance_panel(ax, axis, points, curves)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return _png(fig)


def variance_vs_beta(points: list[dict], curves: list[dict], eta_var: float, n: int) -> bytes:
    return _variance_figure("beta", points, curves, "β (query scale)",
                            f"Total variance of c against β (eta_var = {eta_var:g}, n = {n})")


def variance_vs_eta_var(points: list[dict], curves: list[dict], beta: float, n: int) -> bytes:
    return _variance_figure("eta_var", points, curves, "eta_var (variance of key a's length)",
                            f"Total variance of c against eta_var (β = {beta:g}, n = {n})")


def weight_histogram(weights: dict[str, np.ndarray], summary: dict[str, dict], beta: float,
                     eta_var: float, n: int) -> bytes:
    """Histogram of the weight on v_a per head choice; ``summary`` holds estimate and prediction."""
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    bins = np.linspace(0.0, 1.0, 61)
    for heads, w in weights.items():
        s = summary[heads]
        label = (f"{HEAD_STYLE[heads]['label']}: var {s['estimate']:.4f} ± {Z95 * s['stderr']:.4f}"
                 f" (quadrature {s['predicted']:.4f})")
        ax.hist(w, bins=bins, density=True, histtype="stepfilled", alpha=0.45,
                color=HEAD_STYLE[heads]["color"], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("weight on v_a (multi: head 1's)")
    ax.set_ylabel("density")
    ax.set_title(f"Weight on v_a across key samples (β = {beta:g}, eta_var = {eta_var:g}, n = {n})")
    ax.legend(fontsize=7, loc="upper center")
    return _png(fig)
