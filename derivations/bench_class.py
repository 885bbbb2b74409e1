"""`python -m derivations.bench_class`: time `check` on a generated class of answer files.

Writes N answer files (default 50) into a temporary folder, each drawing every field from
a pool of right and wrong answers in LaTeX and plain notation (fixed seed, so every run
checks the same class), then runs `python -m derivations check` on all of them as a
teaching assistant would (`--csv`; `--jobs`, default 1 as in `check`) and prints the wall time.
"""
from __future__ import annotations

import argparse
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


def toml_string(text: str) -> str:
    return "'" + text + "'"  # the pool has no single quotes: a TOML literal string keeps backslashes


def write_class(folder: Path, students: int, seed: int = 0) -> list[Path]:
    """`students` answer files in ``folder``, each field drawn from POOL (a field is left out one time in eight)."""
    rng = random.Random(seed)
    paths = []
    for k in range(students):
        parts: dict[str, list[str]] = {}
        for (part, field), options in POOL.items():
            if rng.random() < 0.125 and part != "q1d_i":
                continue
            parts.setdefault(part, []).append(f"{field} = {toml_string(rng.choice(options))}")
        if rng.random() < 0.5:
            parts.setdefault("q1d_ii", []).append(f"ignore_negative = {rng.choice(['true', 'false'])}")
        text = "\n\n".join(f"[{part}]\n" + "\n".join(lines) for part, lines in parts.items()) + "\n"
        path = folder / f"student{k + 1:02d}.toml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m derivations.bench_class", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50, help="answer files to generate (default 50)")
    parser.add_argument("--jobs", type=int, default=1, help="processes for `check` (default 1, as `check` itself)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="write the class here instead of a temporary folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="attnlab-class-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = write_class(folder, args.students)
        cmd = [sys.executable, "-m", "derivations", "check", *map(str, paths), "--csv", str(folder / "class.csv"),
               "--jobs", str(args.jobs), "--quiet"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr.strip(), file=sys.stderr)
            return proc.returncode
        rows = (folder / "class.csv").read_text(encoding="utf-8").count("\n") - 1
    print(f"checked {args.students} answer files ({rows} CSV rows) with {args.jobs} processes in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
