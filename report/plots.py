"""The report's own figures (the simulation figures come from `simulate/`).

Each function returns PNG bytes without metadata: the same inputs give the same bytes,
which `python -m report --check` relies on. matplotlib's object API (Figure +
FigureCanvasAgg) is used, never pyplot's global state.
"""
from __future__ import annotations

import io
import math
import textwrap

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .pngs import strip_metadata

DPI = 110
STYLE = {"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8, "svg.hashsalt": "attnlab"}


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return strip_metadata(buf.getvalue())


def complexity(ratio, course: dict) -> bytes:
    """cost(perceiver)/cost(vanilla) against ℓ (left) and against m (right); ``ratio(L, ℓ, m)`` is vectorised."""
    L0, ell0, m0 = course["L"], course["ell"], course["m"]
    with rc_context(STYLE):
        fig = Figure(figsize=(9.5, 3.8), layout="constrained")
        left, right = fig.subplots(1, 2)
        ells = np.geomspace(8, 4096, 200)
        for m in (16, 32, 64, 128):
            left.plot(ells, ratio(L0, ells, m), label=f"m = {m}")
        left.axhline(1.0, color="gray", lw=0.8, ls="--")
        left.plot([ell0], [ratio(L0, ell0, m0)], "ko", ms=5)
        left.annotate(f"course: ℓ = {ell0}, m = {m0}\nratio = {float(ratio(L0, ell0, m0)):.3f}",
                      (ell0, float(ratio(L0, ell0, m0))), textcoords="offset points", xytext=(8, 8), fontsize=8)
        left.set(xscale="log", yscale="log", xlabel="input length ℓ", ylabel="attention cost ratio perceiver / vanilla",
                 title=f"Against ℓ (L = {L0} layers)")
        left.grid(True, which="both", alpha=0.3)
        left.legend()
        ms = np.arange(1, ell0 + 1)
        for L in (2, 4, 8, 16):
            right.plot(ms, ratio(L, ell0, ms), label=f"L = {L}")
        right.axhline(1.0, color="gray", lw=0.8, ls="--")
        right.plot([m0], [ratio(L0, ell0, m0)], "ko", ms=5)
        right.set(xlabel="bottleneck size m", ylabel="attention cost ratio perceiver / vanilla",
                  title=f"Against m (ℓ = {ell0})")
        right.grid(True, alpha=0.3)
        right.legend()
        return _png(fig)


def receptive_fields(panels: list[tuple[str, np.ndarray]], answer_rows: tuple[int, int] | None) -> bytes:
    """Dependence matrices [output j, input i] (True: j can depend on i), one panel each.

    ``answer_rows`` (first, last): the positions at which the dev questions' answers are
    predicted, shaded so the reader sees which rows matter for the task.
    """
    cols = 2
    rows = math.ceil(len(panels) / cols)
    with rc_context(STYLE):
        fig = Figure(figsize=(8.6, 4.1 * rows), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        for ax, (title, dep) in zip(axes, panels):
            t = dep.shape[0]
            ax.imshow(dep, cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest", origin="upper",
                      extent=(-0.5, t - 0.5, t - 0.5, -0.5))
            if answer_rows is not None:
                lo, hi = answer_rows
                ax.axhspan(lo - 0.5, hi + 0.5, color="tab:orange", alpha=0.18, lw=0)
            ax.set_title(title)
            ax.set_xlabel("input position i")
            ax.set_ylabel("output position j")
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        if answer_rows is not None:
            fig.suptitle("dark: output j can depend on input i; orange band: positions where dev answers are "
                         "predicted", fontsize=9)
        return _png(fig)


def dev_accuracy_label(dev_questions: int | None) -> str:
    """The axis label of a dev accuracy: "dev accuracy (500 questions)", or without the size when unknown."""
    return "dev accuracy" if dev_questions is None else f"dev accuracy ({dev_questions} questions)"


def accuracies(rows: list[dict], dev_questions: int | None = None) -> bytes:
    """Dev accuracy per run: sheet, reproduction (with Wilson 95% intervals), others' range.

    ``rows``: dicts with "label", "sheet" (fraction or None), "runs" (list of
    (fraction, low, high)), "others" ((typical_low, typical_high, seen_low, seen_high) or None);
    ``dev_questions``: the dev set's size, for the axis label.
    """
    with rc_context(STYLE):
        fig = Figure(figsize=(8.6, 0.75 * len(rows) + 1.2), layout="constrained")
        ax = fig.subplots()
        ys = np.arange(len(rows))[::-1]
        labelled = set()

        def once(name):
            if name in labelled:
                return None
            labelled.add(name)
            return name

        for y, row in zip(ys, rows):
            if row["others"] is not None:
                tl, th, sl, sh = row["others"]
                ax.plot([sl, sh], [y, y], color="tab:gray", lw=7, alpha=0.25, solid_capstyle="butt",
                        label=once("range others report (MODEL.md)"))
                ax.plot([tl, th], [y, y], color="tab:gray", lw=7, alpha=0.55, solid_capstyle="butt",
                        label=once("typical value others report"))
            if row["sheet"] is not None:
                ax.plot([row["sheet"]], [y + 0.18], "rx", ms=8, mew=2, label=once("answer sheet"))
            for k, (acc, low, high) in enumerate(row["runs"]):
                ax.errorbar([acc], [y - 0.18 - 0.08 * k], xerr=[[acc - low], [high - acc]], fmt="o", color="tab:blue",
                            ms=5, capsize=3, label=once("this project (95% Wilson CI)"))
            if not row["runs"]:
                ax.text(0.002, y - 0.18, "not yet run", va="center", fontsize=8, color="tab:blue", style="italic")
        ax.set_yticks(ys, [textwrap.fill(r["label"], 34) for r in rows])  # wrapped, never cut
        ax.set_xlim(0, max(0.35, max((r["sheet"] or 0) for r in rows) + 0.05))
        ax.xaxis.set_major_formatter(lambda x, _: f"{100 * x:.0f}%")
        ax.set_xlabel(dev_accuracy_label(dev_questions))
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(loc="lower right")
        return _png(fig)


def recipe_curves(curves, target: float, budget: float | None, target_label: str | None = None,
                  dev_questions: int | None = None) -> bytes:
    """Dev accuracy against wall minutes, one line per (name, [(seconds, accuracy), ...]);
    ``target`` a fraction, ``budget`` in seconds, ``dev_questions`` the dev set's size (axis label)."""
    with rc_context(STYLE):
        fig = Figure(figsize=(8.6, 4.4), layout="constrained")
        ax = fig.subplots()
        for k, (name, points) in enumerate(curves):
            t, acc = zip(*points)
            ax.plot(np.asarray(t) / 60, acc, "o-", ms=3, lw=1, color=f"C{k % 10}", label=name)
        ax.axhline(target, color="tab:red", ls="--", lw=1, label=target_label or f"goal: {100 * target:.0f}%")
        if budget:
            ax.axvline(budget / 60, color="tab:gray", ls="--", lw=1, label=f"budget: {budget / 60:.0f} min")
        ax.yaxis.set_major_formatter(lambda x, _: f"{100 * x:g}%")
        ax.set(xlabel="wall time since the command started (minutes)", ylabel=dev_accuracy_label(dev_questions))
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=7, ncol=2, frameon=False)
        return _png(fig)


def loss_curves(logs) -> bytes:
    """Training loss (solid, log scale) and learning rate (dotted, right axis, same colour)
    against step: pretraining logs (named <record>-pretrain, as models writes them) on the
    left, finetuning on the right, so that neither squeezes the other."""
    groups = [("pretraining", [g for g in logs if g.label.endswith("-pretrain")]),
              ("finetuning", [g for g in logs if not g.label.endswith("-pretrain")])]
    groups = [(title, group) for title, group in groups if group]
    with rc_context(STYLE):
        fig = Figure(figsize=(9.2, 4.2), layout="constrained")
        axes = fig.subplots(1, len(groups), squeeze=False)[0]
        k = 0
        for ax, (title, group) in zip(axes, groups):
            lr_ax = ax.twinx()
            for log in group:
                color = f"C{k % 10}"
                k += 1
                ax.plot(log.steps, log.loss, color=color, lw=0.8, label=log.label)
                lr = np.asarray(log.lr, dtype=float)
                if np.isfinite(lr).any():
                    lr_ax.plot(log.steps, lr, color=color, lw=0.8, ls=":")
            ax.set(title=title, xlabel="optimizer step", ylabel="training loss (cross-entropy)", yscale="log")
            lr_ax.set_ylabel("learning rate (dotted)")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7, ncol=1, frameon=False)
        return _png(fig)


def early_pretraining(short, full, window: int = 23) -> bytes:
    """Short pretraining logs (e.g. the first epochs of two trainer options on the CPU) against
    the first steps of full runs: the loss as a running mean over `window` steps (one epoch of
    pretraining), so that the options' drift apart shows above the step-to-step noise."""
    with rc_context(STYLE):
        fig = Figure(figsize=(8.6, 3.6), layout="constrained")
        ax = fig.subplots()
        end = max((max(g.steps) for g in short if g.steps), default=0)
        kernel = np.ones(window) / window
        for k, (log, style) in enumerate([(g, "-") for g in short] + [(g, "--") for g in full]):
            steps, loss = np.asarray(log.steps, float), np.asarray(log.loss, float)
            keep = steps <= end
            steps, loss = steps[keep], loss[keep]
            if len(loss) < window:
                continue
            ax.plot(steps[window - 1:], np.convolve(loss, kernel, mode="valid"), ls=style, color=f"C{k % 10}",
                    lw=1.2, label=log.label)
        ax.set(xlabel="optimizer step", ylabel=f"training loss, mean of {window} steps")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
        return _png(fig)
