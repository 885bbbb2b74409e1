"""The parameter sweep behind the three figures, and its CSV files.

:func:`run_sweep` is the entry point for the report builder as well as for
``python -m simulate sweep``.
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plots
from .estimators import Moments, variance_estimate
from .output import write_atomic
from .predictions import quadrature, sheet_total_variance
from .problem import HEADS, make_problem
from .variance import VarianceResult, simulate, weight_samples

# Figure 1 varies beta at the question's eta_var; figure 3 varies eta_var at beta = 10,
# the sheet's own scale; the histogram is taken at that same point.
BETA_PLOT_ETA_VAR = 0.5
ETA_PLOT_BETA = 10.0
HIST_BETA, HIST_ETA_VAR = 10.0, 0.5
DEFAULT_SAMPLES, QUICK_SAMPLES = 200_000, 20_000
HIST_MAX_SAMPLES = 200_000

FILES = {
    "variance_vs_beta": "variance_vs_beta.png",
    "weight_histogram": "weight_histogram.png",
    "variance_vs_eta_var": "variance_vs_eta_var.png",
    "points": "points.csv",
    "curves": "curves.csv",
}


@dataclass(frozen=True)
class SweepResult:
    """``points``: one dict per simulated point (estimates, stderrs, intervals, predictions);
    ``curves``: the denser quadrature and sheet curves; ``files``: what was written."""

    points: list[dict]
    curves: list[dict]
    files: dict[str, Path]


def grids(quick: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(curve betas, simulated betas, curve eta_vars, simulated eta_vars).

    Simulated values are a subset of the curve values, so every point's prediction
    comes from the same quadrature call as the curve through it.
    """
    if quick:
        betas, etas = np.geomspace(0.5, 50, 7), np.geomspace(0.05, 2, 5)
        return betas, betas, etas, etas
    betas, etas = np.geomspace(0.5, 50, 25), np.geomspace(0.05, 2, 15)
    return betas, betas[::2], etas, etas[::2]


def _curve_row(plot: str, heads: str, beta: float, eta_var: float, n: int, values: np.ndarray) -> dict:
    q = quadrature(heads, beta, n, eta_var, values)
    return {"plot": plot, "heads": heads, "beta": beta, "eta_var": eta_var, "n": n,
            "pred_weight_a_mean": q["weight_a_mean"], "pred_weight_a_var": q["weight_a_var"],
            "pred_total_variance": q["total_variance"],
            "sheet_total_variance": sheet_total_variance(heads, beta, eta_var, values)}


def _point_row(plot: str, result: VarianceResult, curve: dict) -> dict:
    row = {"plot": plot} | result.problem.params() | {
        "samples": result.samples, "seed": " ".join(map(str, np.atleast_1d(result.seed))),
        "sampler": result.sampler,
    }
    for name in ("weight_a_mean", "weight_a_var", "total_variance"):
        est = getattr(result, name)
        low, high = est.ci95
        pred = curve[f"pred_{name}"]
        row |= {name: est.estimate, f"{name}_stderr": est.stderr, f"{name}_ci_low": low,
                f"{name}_ci_high": high, f"pred_{name}": pred,
                f"z_{name}": float(est.z(pred)) if est.stderr > 0 else float("nan")}
    row["sheet_total_variance"] = curve["sheet_total_variance"]
    return row


CSV_DIGITS = 6  # significant digits of a float in the CSVs: finer than any standard error here, and
# coarse enough that builds whose last bits differ (another CPU's vector instructions) write the same file


def _cell(value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{CSV_DIGITS}g}"
    return value


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def run_sweep(out_dir: str | Path, samples: int | None = None, seed: int = 0, quick: bool = False,
              n: int = 8, d: int = 16, values_seed: int = 0, progress: bool = False) -> SweepResult:
    """Simulate the sweep, write its figures and CSVs into ``out_dir``, return everything.

    Parameters: ``samples`` Monte Carlo samples per point (default 200 000, or
    20 000 with ``quick``); ``seed`` the base seed, point i using
    ``numpy.random.default_rng((seed, i))``; ``quick`` fewer points (7 betas, 5
    eta_vars; the quadrature dominates: about 10-20 s on 2 cores) instead of 13 and 8
    simulated over curves of 25 and 15 points (about a minute); ``n``, ``d`` and
    ``values_seed`` fix the problem (values drawn N(0, I/d)); iso_var is 0, the
    limit the quadrature describes. All points use the fast sampler.

    Writes, each atomically (temporary name, then rename): ``variance_vs_beta.png``
    (tr Cov[c] against beta at eta_var = 0.5, three head choices, simulation with 95%
    error bars over the quadrature curves and the sheet's formula),
    ``weight_histogram.png`` (the weight on v_a for single vs multi at beta = 10),
    ``variance_vs_eta_var.png`` (tr Cov[c] against eta_var at beta = 10),
    ``points.csv`` (one row per simulated point: estimates, standard errors, 95%
    intervals, quadrature predictions, z-scores, the sheet's value) and
    ``curves.csv`` (the curves' predictions).
    """
    samples = samples if samples is not None else (QUICK_SAMPLES if quick else DEFAULT_SAMPLES)
    if samples < 4:
        raise ValueError(f"samples must be at least 4 (got {samples})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = make_problem("single", 1.0, n, d, BETA_PLOT_ETA_VAR, 0.0, values_seed=values_seed)
    values = np.asarray(base.values)
    curve_betas, sim_betas, curve_etas, sim_etas = grids(quick)

    plans = [("beta", h, float(b), BETA_PLOT_ETA_VAR, b in sim_betas) for h in HEADS for b in curve_betas]
    plans += [("eta_var", h, ETA_PLOT_BETA, float(e), e in sim_etas) for h in HEADS for e in curve_etas]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(plans) + 2, desc="sweep", unit="point", file=sys.stderr, leave=False)

    curves, points = [], []
    try:
        for index, (plot, heads, beta, eta_var, simulated) in enumerate(plans):
            curve = _curve_row(plot, heads, beta, eta_var, n, values)
            curves.append(curve)
            if simulated:
                problem = make_problem(heads, beta, n, d, eta_var, 0.0, values=values)
                result = simulate(problem, samples, seed=(seed, index), with_prediction=False)
                points.append(_point_row(plot, result, curve))
            if bar is not None:
                bar.update()

        hist, summary = {}, {}
        for k, heads in enumerate(("single", "multi")):
            problem = make_problem(heads, HIST_BETA, n, d, HIST_ETA_VAR, 0.0, values=values)
            w = weight_samples(problem, min(samples, HIST_MAX_SAMPLES), seed=(seed, len(plans) + k))
            est = variance_estimate(Moments.of(w))
            pred = quadrature(heads, HIST_BETA, n, HIST_ETA_VAR, values)["weight_a_var"]
            hist[heads], summary[heads] = w, {"estimate": est.estimate, "stderr": est.stderr, "predicted": pred}
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()

    files = {key: out_dir / name for key, name in FILES.items()}
    write_atomic(files["variance_vs_beta"], plots.variance_vs_beta(
        [p for p in points if p["plot"] == "beta"], [c for c in curves if c["plot"] == "beta"],
        BETA_PLOT_ETA_VAR, n))
    write_atomic(files["weight_histogram"], plots.weight_histogram(hist, summary, HIST_BETA, HIST_ETA_VAR, n))
    write_atomic(files["variance_vs_eta_var"], plots.variance_vs_eta_var(
        [p for p in points if p["plot"] == "eta_var"], [c for c in curves if c["plot"] == "eta_var"],
        ETA_PLOT_BETA, n))
    write_atomic(files["points"], _csv(points))
    write_atomic(files["curves"], _csv(curves))
    return SweepResult(points, curves, files)
