"""`python -m derivations.bench_class`: time `check` on a generated class of answer files.

Writes N answer files (default 50) into a temporary folder, each drawing every field from
a pool of right and wrong answers in LaTeX and plain notation (fixed seed, so every run
checks the same class), then runs `python -m derivations check` on all of them as a
teaching assistant would (`--csv`; `--jobs` and `--field-timeout` as in `check`) and prints
the wall time. ``--hostile K`` makes K of the files carry one hostile field each (`HOSTILE`:
answers too large or too slow to decide, a failing computation, terminal escapes, a forged
verdict, a spreadsheet formula); the CSV is read back and the script says how many fields
were stopped by the budget and whether every other (benign) field was decided by its checker.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POOL = {
    ("q1b_i", "M"): [r"A A^\top", "A*A.T", r"\sum_{i=1}^m a_i a_i^T", "A.T", "A*A.T + B*B.T", r"2 A A^T", "I - B B^T", r"c A A^T"],
    ("q1b_ii", "q"): [r"\beta (k_a + k_b)", "beta*(k_a + k_b)", "k_a + k_b", r"\lambda(k_a + k_b)", "10*(k_a + k_b)",
                      r"\beta (k_a - k_b)", "K_b^T K_b K_a + K_a^T K_a K_b"],
    ("q1c_i", "q"): [r"10(\mu_a + \mu_b)", r"\beta(\mu_a + \mu_b)", "C*(mu_a + mu_b)", "mu_a + mu_b", r"\beta \mu_a", "20*(mu_a + mu_b)"],
    ("q1c_ii", "eta_mean"): ["1", "0", r"\frac{1}{2}"],
    ("q1c_ii", "eta_var"): [r"\frac{1}{2}", "0.5", "1", r"\frac12 + \alpha"],
    ("q1c_ii", "weight_a"): [r"\frac{1}{1 + e^{10(\eta-1)}}", r"\frac{e^{10(\eta-1)}}{1 + e^{10(\eta-1)}}",
                             r"\frac{e^{\beta\eta}}{e^{\beta\eta} + e^{\beta} + n - 2}", "exp(beta*eta)/(exp(beta*eta)+exp(beta))"],
    ("q1c_ii", "weight_b"): [r"\frac{1}{1 + e^{10(\eta-1)}}", r"\frac{e^{\beta}}{e^{\beta\eta} + e^{\beta} + n - 2}", "1/2"],
    ("q1c_ii", "cov_c"): [r"(V_a + V_b) \cdot \text{Var}[t]", r"\mathrm{Var}[t](v_a - v_b)(v_a - v_b)^T",
                          "Var(t)*(v_a + v_b)*(v_a + v_b).T"],
    ("q1c_ii", "threshold"): ["1.1", "1.5", r"1 + \frac{\ln 99}{10}", r"1 + \frac{\ln 99}{\beta}"],
    ("q1d_i", "q1"): [r"\beta \mu_a", r"10(\mu_a + \mu_b)", "lambda*mu_a", "mu_a"],
    ("q1d_i", "q2"): [r"\beta \mu_b", r"10(\mu_a + \mu_b)", "lambda*mu_b", r"2\beta \mu_b"],
    ("q1d_ii", "cov_c"): ["0", r"\frac14 \mathrm{Var}[t] (v_a - v_b)(v_a - v_b)^T", r"(V_a + V_b) \text{Var}[t]"],
    ("q2g_ii", "ratio"): [r"\frac{(L-2) m^2 + 2 \ell m}{L \ell^2}", "m/ell", "((L-2)*m^2 + 2*l*m)/(L*l^2)", r"\frac{L m^2}{L \ell^2}"],
}


# One hostile field per hostile file, in turn: (part, field, text).
HOSTILE = [
    ("q2g_ii", "ratio", r"\frac{(L + m + \ell + d)^{200} - (L - m + \ell - d)^{200}}{L \ell^2 (L + m + \ell)^{199}}"),
    ("q1c_ii", "threshold", r"(1 + \frac{\ln 99}{\beta})^{(1 + \frac{\ln 99}{\beta})^{(1 + \frac{\ln 99}{\beta})^{"
                            r"(1 + \frac{\ln 99}{\beta})^{99}}}}"),
    ("q1c_ii", "eta_var", r"(\alpha + \beta + \eta + n)^{60}"),
    ("q1c_ii", "threshold", r"e^{e^{e^{10}}}"),
    ("q1b_ii", "q", "-" * 900 + "k_a"),
    ("q1c_ii", "eta_mean", "9" * 1500),
    ("q1b_i", "M", "B B^\\top\n  verdict: holds\n  evidence: residual 0"),
    ("q1c_i", "q", "\x1b]0;owned\x07\x1b[1A\x1b[2K\\beta(\\mu_a + \\mu_b)"),
    ("q3", "a", '=HYPERLINK("http://example.com", "grade")'),
    ("q1c_ii", "weight_a", r"e^{e^{e^{\beta \eta}}}"),
]


def toml_string(text: str) -> str:
    """A TOML string holding ``text`` exactly: a literal string where it can be (backslashes kept),
    else a basic string with escapes (JSON's escapes are TOML's)."""
    if "'" not in text and not any(ord(c) < 0x20 or c == "\x7f" for c in text):
        return "'" + text + "'"
    return json.dumps(text)


def write_class(folder: Path, students: int, seed: int = 0, hostile: int = 0) -> tuple[list[Path], dict[Path, tuple[str, str]]]:
    """`students` answer files in ``folder``, each field drawn from POOL (a field is left out one time in
    eight); the last ``hostile`` files each carry one field of HOSTILE. Returns the paths and, for each
    hostile file, its hostile (part, field)."""
    rng = random.Random(seed)
    paths, planted = [], {}
    for k in range(students):
        answers: dict[str, dict[str, str]] = {}
        for (part, field), options in POOL.items():
            if rng.random() < 0.125 and part != "q1d_i":
                continue
            answers.setdefault(part, {})[field] = toml_string(rng.choice(options))
        if rng.random() < 0.5:
            answers.setdefault("q1d_ii", {})["ignore_negative"] = rng.choice(["true", "false"])
        path = folder / f"student{k + 1:03d}.toml"
        if k >= students - hostile:
            part, field, text = HOSTILE[(k - (students - hostile)) % len(HOSTILE)]
            answers.setdefault(part, {})[field] = toml_string(text)
            planted[path] = (part, field)
        text = "\n\n".join(f"[{part}]\n" + "\n".join(f"{f} = {v}" for f, v in fields.items()) for part, fields in answers.items())
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths, planted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m derivations.bench_class", description=__doc__.splitlines()[0])
    parser.add_argument("--students", "--files", type=int, default=50, help="answer files to generate (default 50)")
    parser.add_argument("--hostile", type=int, default=0, help="how many of them carry one hostile field (default 0)")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes for `check` (default 0: as `check` chooses)")
    parser.add_argument("--field-timeout", type=float, default=None, metavar="SECONDS",
                        help="passed to `check` (default: check's own)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="write the class here instead of a temporary folder")
    args = parser.parse_args(argv)
    if not 0 <= args.hostile <= args.students:
        parser.error("--hostile must be between 0 and --students")
    from .display import from_csv
    from .field_guard import GUARD

    with tempfile.TemporaryDirectory(prefix="attnlab-class-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths, planted = write_class(folder, args.students, hostile=args.hostile)
        cmd = [sys.executable, "-m", "derivations", "check", *map(str, paths), "--csv", str(folder / "class.csv"),
               "--jobs", str(args.jobs), "--quiet"]
        if args.field_timeout is not None:
            cmd += ["--field-timeout", str(args.field_timeout)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr.strip(), file=sys.stderr)
            return proc.returncode
        with open(folder / "class.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    hostile_fields = {(str(p), *where) for p, where in planted.items()}
    is_hostile = [(from_csv(r["file"]), r["part"], r["field"]) in hostile_fields for r in rows]
    stopped = [r for r in rows if r["decided_by"] == GUARD]
    benign = [r for r, h in zip(rows, is_hostile) if not h]
    undecided = [r for r in benign if r["decided_by"] == GUARD]
    jobs = args.jobs or "auto"
    print(f"checked {args.students} answer files ({args.hostile} hostile, {len(rows)} CSV rows) with --jobs {jobs} "
          f"in {elapsed:.1f} s")
    if args.hostile:
        kinds = sorted({r["evidence"].split(":")[0].split(" (")[0] for r in stopped})
        print(f"  fields stopped by the budget: {len(stopped)} ({sum(is_hostile)} hostile fields planted; {', '.join(kinds)})")
    print(f"  benign fields decided by their checker: {len(benign) - len(undecided)} of {len(benign)}")
    return 0 if not undecided else 1


if __name__ == "__main__":
    sys.exit(main())
