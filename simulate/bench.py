"""Benchmark: sampler throughput and the time to a 1% standard error (``python -m simulate bench``).

Prints measurements, it asserts nothing. At n = 8, d = 64, beta = 10:

* the machine's rate of standard normal variates (NumPy's default generator,
  float64, filling a reused buffer the size of the faithful sampler's block);
* samples per second of both samplers: the logits alone, and end to end
  (attention weights and streamed moments included); for the faithful sampler
  also the variates it consumes per second against the raw rate (goal: within 2×);
* the time until the relative standard error of Var[weight on v_a] reaches 1%
  (goal: under 1 s with the fast sampler), the median of three seeds.

Goals are per core: run through ``python -m simulate bench``, BLAS gets one thread.
"""
from __future__ import annotations

import json
import os
import statistics
import time

import numpy as np

from .estimators import Moments, variance_estimate
from .problem import HEADS, make_problem
from .samplers import FaithfulSampler, make_sampler
from .variance import simulate, stream

N, D, BETA, ETA_VAR, ISO_VAR = 8, 64, 10.0, 0.5, 1e-6
TARGET_REL_SE = 0.01
# Small chunks for the stopping rule, so that it stops close to the 1% point; large
# ones for throughput, so that per-call overhead does not count.
STOP_CHUNK = {"fast": 1024, "faithful": FaithfulSampler.block}
RATE_CHUNK = {"fast": 1 << 15, "faithful": 8 * FaithfulSampler.block}


def normal_rate(rng: np.random.Generator, size: int, seconds: float) -> float:
    """Standard normal variates per second, filling one reused float64 buffer."""
    buf = np.empty(size)
    rng.standard_normal(out=buf)
    done, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        rng.standard_normal(out=buf)
        done += size
    return done / elapsed


def logits_rate(problem, kind: str, rng: np.random.Generator, seconds: float) -> float:
    sampler = make_sampler(problem, kind)
    m = RATE_CHUNK[kind]
    sampler.logits(rng, m)
    done, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        sampler.logits(rng, m)
        done += m
    return done / elapsed


def end_to_end_rate(problem, kind: str, seed: int, seconds: float, rate_guess: float) -> float:
    samples = max(int(rate_guess * seconds), 4 * RATE_CHUNK[kind])
    t0 = time.perf_counter()
    simulate(problem, samples, seed=seed, sampler=kind, with_prediction=False)
    return samples / (time.perf_counter() - t0)


def time_to_rel_se(problem, kind: str, seed: int, target: float = TARGET_REL_SE,
                   max_samples: int = 50_000_000) -> tuple[float, int, float]:
    """Stream until stderr/estimate of Var[weight on v_a] ≤ target: (seconds, samples, reached)."""
    moments = Moments.empty(1)
    t0 = time.perf_counter()
    rel = float("inf")
    for w_a, _ in stream(problem, max_samples, seed, kind, STOP_CHUNK[kind]):
        moments = moments + Moments.of(w_a)
        if moments.count >= 64:
            est = variance_estimate(moments)
            rel = est.stderr / est.estimate if est.estimate > 0 else float("inf")
            if rel <= target:
                break
    return time.perf_counter() - t0, moments.count, rel


def blas_threads() -> str:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            return f"{os.environ[var]} ({var})"
    return "library default (run through python -m simulate bench for 1)"


def measure(quick: bool = False, seed: int = 0, progress: bool = False) -> dict:
    seconds = 0.3 if quick else 1.0
    steps = 1 + 2 * len(HEADS) + 4
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=steps, desc="bench", unit="step", leave=False)
    tick = bar.update if bar is not None else (lambda: None)
    rng = np.random.default_rng(seed)
    block_size = FaithfulSampler.block * N * D
    raw = normal_rate(rng, block_size, seconds)
    tick()
    out = {
        "params": {"n": N, "d": D, "beta": BETA, "eta_var": ETA_VAR, "iso_var": ISO_VAR,
                   "blas_threads": blas_threads(), "seed": seed},
        "normal_variates_per_s": raw,
        "throughput": [],
        "time_to_1pct": [],
    }
    for kind in ("fast", "faithful"):
        for heads in HEADS:
            problem = make_problem(heads, BETA, N, D, ETA_VAR, ISO_VAR)
            lr = logits_rate(problem, kind, rng, seconds)
            e2e = end_to_end_rate(problem, kind, seed, seconds, lr)
            h = problem.queries.shape[0]
            per_sample = N * D + 1 if kind == "faithful" else N * h
            out["throughput"].append({
                "sampler": kind, "heads": heads, "logits_per_s": lr, "end_to_end_per_s": e2e,
                "variates_per_sample": per_sample, "variates_per_s": lr * per_sample,
                "raw_over_sampler": raw / (lr * per_sample),
            })
            tick()
    for kind in ("fast", "faithful"):
        for heads in ("single", "multi"):
            problem = make_problem(heads, BETA, N, D, ETA_VAR, ISO_VAR)
            runs = [time_to_rel_se(problem, kind, seed + k) for k in range(1 if quick else 3)]
            times = [r[0] for r in runs]
            out["time_to_1pct"].append({
                "sampler": kind, "heads": heads, "seconds_median": statistics.median(times),
                "seconds_all": times, "samples": [r[1] for r in runs], "rel_se": [r[2] for r in runs],
            })
            tick()
    if bar is not None:
        bar.close()
    return out


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g}"


def format_text(r: dict) -> str:
    p = r["params"]
    lines = [
        f"simulate bench: n={p['n']} d={p['d']} beta={p['beta']:g} eta_var={p['eta_var']:g} "
        f"iso_var={p['iso_var']:g}; BLAS threads: {p['blas_threads']}",
        f"normal variates (numpy default_rng, float64): {_si(r['normal_variates_per_s'])}/s",
        "",
        f"{'sampler':<9}{'heads':<12}{'logits/s':>12}{'end-to-end/s':>14}{'variates/sample':>17}"
        f"{'variates/s':>13}{'raw/sampler':>13}",
    ]
    for t in r["throughput"]:
        lines.append(f"{t['sampler']:<9}{t['heads']:<12}{_si(t['logits_per_s']):>12}{_si(t['end_to_end_per_s']):>14}"
                     f"{t['variates_per_sample']:>17}{_si(t['variates_per_s']):>13}{t['raw_over_sampler']:>12.2f}x")
    lines += ["  (raw/sampler: the machine's normal-variate rate over the variates the sampler consumes "
              "per second; goal for faithful: <= 2x)", "",
              f"time to {TARGET_REL_SE:.0%} relative stderr on Var[weight on v_a] (multi: head 1) "
              f"at beta={p['beta']:g}, end to end:"]
    for t in r["time_to_1pct"]:
        goal = "  (goal < 1 s)" if t["sampler"] == "fast" else ""
        lines.append(f"{t['sampler']:<9}{t['heads']:<12}{t['seconds_median']:>9.3f} s   "
                     f"samples {', '.join(f'{s:,}' for s in t['samples'])}{goal}")
    return "\n".join(lines)


def run_bench(quick: bool = False, seed: int = 0, as_json: bool = False, progress: bool = False) -> int:
    result = measure(quick=quick, seed=seed, progress=progress)
    print(json.dumps(result) if as_json else format_text(result))
    return 0
