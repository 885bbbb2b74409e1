"""``python -m simulate``: the variance of one point, the sweep with its plots, the benchmark, and
``check``: derivations' answer checker with a Monte Carlo of each query answer beside its proof.

Every command-line error (a bad flag, an invalid parameter, an unreadable file)
prints one line ``simulate: error: …`` to stderr and exits with status 2; files
are written under a temporary name and renamed, so an error leaves nothing
half-written. Parameters are checked before the heavy imports (SymPy through
``derivations``), so errors come back at once.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

from fileguard.errors import UserError
from fileguard.parsing import OneLineParser, UsageError
from fileguard.inputs import MiB

from .output import json_safe, write_atomic
from .problem import HEADS, ProblemError, make_problem

EXIT_USAGE = 2
VALUES_MAX_BYTES = 64 * MiB  # a --values file; the arrays it gives are bounded by _check_memory too


class CommandLineError(Exception):
    """An invalid invocation, reported as one line and exit status 2."""


def fail(message: str):
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"simulate: error: {one_line}\n")
    sys.exit(EXIT_USAGE)


def _finite_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _seed(text: str) -> int:
    """A seed of numpy.random.default_rng: a non-negative integer."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be a non-negative integer, not {text}")
    return value


def _check_memory(n: int, d: int, chunk: int, sampler: str = "fast") -> None:
    """Refuse, before allocating, a simulation whose arrays would not fit: the problem holds a few
    n×d arrays (values, means, basis), and a chunk of samples holds chunk×n logits (the
    faithful sampler draws chunk×n×d keys). Float64, against half the machine's memory."""
    needed = 8 * (4 * n * d + chunk * n * (d if sampler == "faithful" else 4))
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return
    if needed > total / 2:
        raise CommandLineError(f"n = {n}, d = {d} with chunks of {chunk} samples need about {needed / 2**30:.1f} GiB, "
                               f"more than half of this machine's {total / 2**30:.0f} GiB: lower --n, --d or --chunk")


def _check_finite(out: dict, beta: float) -> None:
    """Estimates that overflowed (NaN or infinite) are an error, never printed as null."""
    bad = [k for k in ("weight_a", "total_variance", "mean_c") if _has_nonfinite(out.get(k))]
    if bad:
        raise CommandLineError(f"at --beta {beta:g} the logits overflow float64, so the estimates ({', '.join(bad)}) "
                               "are not finite; use a smaller |beta| (the attention is already a hard maximum "
                               "long before, e.g. at beta = 1e6)")


def _has_nonfinite(obj) -> bool:
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, dict):
        return any(_has_nonfinite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_has_nonfinite(v) for v in obj)
    return obj is None


def _show_progress(args) -> bool:
    return not args.quiet and sys.stderr.isatty()


# --- parser ------------------------------------------------------------------

def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="simulate",
        description="Monte Carlo of attention under an eta-perturbed key (questions 1(c) ii and 1(d) ii).",
    )
    sub = parser.add_subparsers(dest="command", metavar="{variance,sweep,bench,check}", parser_class=OneLineParser)
    sub.required = True

    v = sub.add_parser(
        "variance", help="estimate the weight on v_a and tr Cov[c] at one point, beside the predictions",
        description="Estimate, at one parameter point, the mean and variance of the weight on v_a "
        "(multi: head 1's), the mean of c and tr Cov[c], each with standard error and 95% interval, "
        "beside the quadrature prediction of derivations.numeric (the iso_var -> 0 limit) and the "
        "answer sheet's variance formula where it makes one.",
    )
    v.add_argument("--heads", choices=HEADS, default="single",
                   help="single: q = beta(mu_a + mu_b); multi: q1 = beta mu_a, q2 = beta mu_b; "
                   "seed-multi: q1 = q2 = beta(mu_a + mu_b), the answer sheet's choice (default: single)")
    v.add_argument("--beta", type=_finite_float, default=10.0, help="query scale beta, finite (default: 10)")
    v.add_argument("--n", type=_int, default=8, help="number of keys and values, at least 2 (default: 8)")
    v.add_argument("--d", type=_int, default=None, help="dimension of keys and values, at least n (default: n)")
    v.add_argument("--eta-var", type=_finite_float, default=0.5,
                   help="extra variance of key a along mu_a, >= 0; the question's is 1/2 (default: 0.5)")
    v.add_argument("--iso-var", type=_finite_float, default=0.0,
                   help="isotropic key variance (the question's small alpha), >= 0; predictions are its "
                   "-> 0 limit (default: 0)")
    v.add_argument("--samples", type=_int, default=100_000, help="Monte Carlo samples, at least 4 (default: 100000)")
    v.add_argument("--seed", type=_seed, default=0, help="seed of numpy.random.default_rng (default: 0)")
    v.add_argument("--sampler", choices=("fast", "faithful"), default="fast",
                   help="fast: draws the Gaussian logits directly; faithful: draws every key as a vector "
                   "in R^d (default: fast)")
    v.add_argument("--chunk", type=_int, default=None,
                   help="samples per streamed chunk; results are reproducible for a given seed and chunk "
                   "(default: 32768)")
    v.add_argument("--a", type=_int, default=0, help="index of the first value to average (default: 0)")
    v.add_argument("--b", type=_int, default=1, help="index of the second value to average (default: 1)")
    v.add_argument("--values", type=Path, default=None,
                   help="file with the (n, d) values, .npy or text (one row per value); default: drawn "
                   "N(0, I/d) with --values-seed")
    v.add_argument("--values-seed", type=_seed, default=0, help="seed for drawing the values (default: 0)")
    v.add_argument("--random-means", type=_seed, default=None, metavar="SEED",
                   help="use a random orthonormal set of means drawn with SEED instead of the standard basis")
    v.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    v.add_argument("--out", type=Path, default=None, help="also write the JSON object to this file")
    v.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser(
        "sweep", help="write the three variance plots and a CSV of every point",
        description="Sweep beta and eta_var for the three head choices; write variance_vs_beta.png, "
        "weight_histogram.png, variance_vs_eta_var.png, points.csv (every simulated point with its "
        "predictions) and curves.csv (the quadrature and sheet curves) into --out.",
    )
    s.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    s.add_argument("--samples", type=_int, default=None,
                   help="Monte Carlo samples per point, at least 4 (default: 200000, or 20000 with --quick)")
    s.add_argument("--quick", action="store_true", help="fewer points and samples: seconds instead of a minute")
    s.add_argument("--seed", type=_seed, default=0, help="base seed; each point derives its own (default: 0)")
    s.add_argument("--n", type=_int, default=8, help="number of keys, at least 2 (default: 8)")
    s.add_argument("--d", type=_int, default=16, help="dimension, at least n (default: 16)")
    s.add_argument("--values-seed", type=_seed, default=0, help="seed for drawing the values (default: 0)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")

    b = sub.add_parser(
        "bench", help="print sampler throughput and the time to a 1%% standard error",
        description="Measure, at n = 8, d = 64, beta = 10: the normal-variate rate of this machine, "
        "samples per second of both samplers, and the time to reach 1% relative standard error on "
        "the variance of the weight on v_a. Run through python -m simulate, BLAS is limited to one thread.",
    )
    b.add_argument("--quick", action="store_true", help="shorter measurements (noisier)")
    b.add_argument("--seed", type=_seed, default=0, help="seed (default: 0)")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    b.add_argument("--quiet", action="store_true", help="no progress bar")

    from derivations.check_cli import add_arguments  # light: the checker's SymPy loads in its workers

    c = add_arguments(sub, description=" Beside each query answer's proof ((b) ii, (c) i, the heads of (d) i), a Monte "
                      "Carlo of c under the keys of (c) i and (c) ii: the root-mean-square distance of c to "
                      "½(v_a + v_b) and tr Cov[c] (a simulation, not a proof; the verdict stays the proof's).")
    c.add_argument("--samples", type=_int, default=20000, metavar="N",
                   help="Monte Carlo samples per query answer, at least 4 (default 20000)")
    return parser


# --- commands ----------------------------------------------------------------

def _load_values(path: Path):
    """The (n, d) values of a --values file, read through fileguard (a regular file of at most
    VALUES_MAX_BYTES; never a device or a FIFO). Raises CommandLineError."""
    import io

    import numpy as np

    from fileguard.inputs import read_bytes

    try:
        data = read_bytes(path, "values file", VALUES_MAX_BYTES)
    except UserError as err:
        raise CommandLineError(f"cannot read --values {err}") from None
    try:
        if path.suffix == ".npy":
            return np.load(io.BytesIO(data), allow_pickle=False)
        return np.loadtxt(io.StringIO(data.decode("utf-8")), delimiter="," if path.suffix == ".csv" else None, ndmin=2)
    except (OSError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise CommandLineError(f"cannot read --values {path}: {err}") from None


def _check_out_file(path: Path | None, inputs=()) -> None:
    """Refuse --out before any work (fileguard.outputs.check_output): an input, the data
    folder, a device or FIFO, a folder, a place that cannot be written. Raises UserError."""
    from fileguard.outputs import check_output

    if path is not None:
        if not path.parent.is_dir():
            raise CommandLineError(f"--out {path}: not a writable file path (missing directory)")
        check_output(path, "JSON output", inputs=inputs)


def _format_table(out: dict) -> str:
    pred = out.get("predicted") or {}
    z = out.get("z") or {}
    rows = [("weight_a mean", out["weight_a"]["mean"], "weight_a_mean"),
            ("weight_a var", out["weight_a"]["var"], "weight_a_var"),
            ("tr Cov[c]", out["total_variance"], "total_variance")]
    p = out["params"]
    lines = [" ".join(f"{k}={v}" for k, v in p.items()),
             f"{'quantity':<14}{'estimate':>13}{'stderr':>11}{'95% interval':>28}{'quadrature':>13}{'z':>8}"]
    for label, est, key in rows:
        lo, hi = est["ci95"]
        q = pred.get(key)
        zz = z.get(key)
        lines.append(f"{label:<14}{est['estimate']:>13.6g}{est['stderr']:>11.3g}"
                     f"{f'[{lo:.6g}, {hi:.6g}]':>28}{(f'{q:.6g}' if q is not None else '-'):>13}"
                     f"{(f'{zz:.2f}' if zz is not None else '-'):>8}")
    if pred.get("sheet_total_variance") is not None:
        lines.append(f"answer sheet's tr Cov[c] formula (V_a + V_b)·Var[t], summed over the components, at these "
                     f"v_a, v_b (d = {p['d']}, values {p['values']}): {pred['sheet_total_variance']:.6g}")
    if pred:
        lines.append(f"prediction: {pred['limit']}")
    elif out.get("predicted_note"):
        lines.append(f"prediction: {out['predicted_note']}")
    return "\n".join(lines)


def cmd_variance(args) -> int:
    if args.samples < 4:
        raise CommandLineError(f"--samples must be at least 4 (got {args.samples})")
    if args.chunk is not None and args.chunk < 1:
        raise CommandLineError(f"--chunk must be at least 1 (got {args.chunk})")
    _check_out_file(args.out, inputs=[args.values])
    from .variance import DEFAULT_CHUNK
    _check_memory(args.n, args.d or args.n, min(args.chunk or DEFAULT_CHUNK, args.samples), args.sampler)
    values = _load_values(args.values) if args.values is not None else None
    import numpy as np

    from .variance import simulate

    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported once, by _check_finite
        try:
            problem = make_problem(args.heads, args.beta, args.n, args.d, args.eta_var, args.iso_var,
                                   values=values, values_seed=args.values_seed,
                                   random_means_seed=args.random_means, a=args.a, b=args.b)
        except ProblemError as err:
            raise CommandLineError(str(err)) from None
        if args.values is not None:
            problem = dataclasses.replace(problem, values_source=str(args.values))
        result = simulate(problem, args.samples, args.seed, args.sampler, args.chunk or DEFAULT_CHUNK,
                          progress=_show_progress(args))
    _check_finite(result.to_json(), args.beta)
    out = json_safe(result.to_json())
    text = json.dumps(out, allow_nan=False)
    if args.out is not None:
        write_atomic(args.out, text + "\n")
    print(text if args.json else _format_table(out))
    return 0


def cmd_sweep(args) -> int:
    if args.samples is not None and args.samples < 4:
        raise CommandLineError(f"--samples must be at least 4 (got {args.samples})")
    if args.out.exists() and not args.out.is_dir():
        raise CommandLineError(f"--out {args.out} exists and is not a directory")
    from fileguard.outputs import check_output
    check_output(args.out, "sweep's plots and tables", folder=True)
    from .variance import DEFAULT_CHUNK
    _check_memory(args.n, args.d, min(DEFAULT_CHUNK, args.samples or DEFAULT_CHUNK))
    try:
        make_problem("single", 1.0, args.n, args.d, 0.5, 0.0, values_seed=args.values_seed)
    except ProblemError as err:
        raise CommandLineError(str(err)) from None

    from .sweep import FILES, run_sweep

    for name in FILES.values():  # every file refused now, not after a minute with some written
        check_output(args.out / name, "sweep's plots and tables")
    result = run_sweep(args.out, samples=args.samples, seed=args.seed, quick=args.quick, n=args.n, d=args.d,
                       values_seed=args.values_seed, progress=_show_progress(args))
    for path in result.files.values():
        print(path)
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench

    return run_bench(quick=args.quick, seed=args.seed, as_json=args.json, progress=_show_progress(args))


def cmd_check(args) -> int:
    """`python -m derivations check` with the simulation of `simulate.answers` beside the decisions."""
    from derivations.check_cli import run

    from .answers import simulation

    if args.samples < 4:
        raise CommandLineError(f"--samples must be at least 4 (got {args.samples})")
    return run(args, fail, beside=simulation(args.samples), samples=args.samples)


COMMANDS = {"variance": cmd_variance, "sweep": cmd_sweep, "bench": cmd_bench, "check": cmd_check}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        fail(str(err))
    try:
        return COMMANDS[args.command](args)
    except (CommandLineError, UserError) as err:
        fail(str(err))
    except BrokenPipeError:  # the reader of the output has gone: not a mistake (python -m simulate ends quietly)
        raise
    except OSError as err:  # an output path that cannot be written
        fail(f"{err.strerror or err}: {err.filename}" if err.filename else str(err))
    except KeyboardInterrupt:
        sys.stderr.write("simulate: interrupted\n")
        return 130
