"""`python -m derivations.bench_class`: time `check` on a generated class of answer files.

Writes N answer files (default 50) into a temporary folder, each drawing every field from
a pool of right and wrong answers in LaTeX and plain notation (fixed seed, so every run
checks the same class), then runs `python -m derivations check` on all of them as a
teaching assistant would (`--csv`; `--jobs` and `--field-timeout` as in `check`) and prints
the wall time. ``--hostile K`` makes K of the files carry one hostile field each (`HOSTILE`:
answers too large or too slow to decide, a failing computation, terminal escapes, a forged
verdict, a spreadsheet formula); the CSV is read back and the script says how many fields
were stopped by the budget and whether every other (benign) field was decided by its checker.
With ``--mixed`` (default 200 files) a quarter each are TOML files and Markdown, LaTeX and
notebook write-ups of the same drawn answers (`write_mixed_class`), read as `check` reads them.
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


def _draw(rng: random.Random) -> dict[tuple[str, str], str]:
    """One student's answers: every field of POOL, each left out one time in eight (never (d) i)."""
    return {(part, field): rng.choice(options) for (part, field), options in POOL.items()
            if not (rng.random() < 0.125 and part != "q1d_i")}


def _markdown(a: dict) -> list[str]:
    """The drawn answers as Markdown write-up sections (one string per notebook cell)."""
    g = a.get
    c_ii = []
    if ("q1c_ii", "eta_mean") in a and ("q1c_ii", "eta_var") in a:
        c_ii.append(f"where $\\eta \\sim \\mathcal{{N}}({a[('q1c_ii', 'eta_mean')]}, {a[('q1c_ii', 'eta_var')]})$")
    for field, sym in (("weight_a", "\\alpha_a"), ("weight_b", "\\alpha_b"), ("cov_c", "\\mathrm{Var}[c]"), ("threshold", "\\eta >")):
        if ("q1c_ii", field) in a:
            c_ii.append(f"$${sym} {'' if field == 'threshold' else '= '}{a[('q1c_ii', field)]}$$")
    cells = ["# 1. Attention exploration",
             "## (b)\n" + (f"i. We take $M = {g(('q1b_i', 'M'))}$.\n\n" if ("q1b_i", "M") in a else "")
             + (f"ii. $$q = {g(('q1b_ii', 'q'))}$$" if ("q1b_ii", "q") in a else ""),
             "## (c)\n" + (f"i. $q = {g(('q1c_i', 'q'))}$, for large scale.\n\n" if ("q1c_i", "q") in a else "")
             + "ii. " + "\n\n".join(c_ii),
             f"## (d)\ni. $q_1 = {a[('q1d_i', 'q1')]}$ and $q_2 = {a[('q1d_i', 'q2')]}$.\n\n"
             + (f"ii. $\\mathrm{{Cov}}(c) = {g(('q1d_ii', 'cov_c'))}$" if ("q1d_ii", "cov_c") in a else "")]
    if ("q2g_ii", "ratio") in a:
        cells.append(f"# 2. Pretraining\n### (g)\n#### ii\n$$\\frac{{\\text{{cost (perceiver)}}}}{{\\text{{cost (vanilla)}}}} = {a[('q2g_ii', 'ratio')]}$$")
    return cells


def _latex(a: dict) -> str:
    """The drawn answers as a LaTeX write-up: sections, subsections, enumerate items, math."""
    def item(part, field, fmt):
        return f"\\item {fmt.format(a[(part, field)])}\n" if (part, field) in a else "\\item (no answer)\n"
    c_ii = ""
    if ("q1c_ii", "eta_mean") in a and ("q1c_ii", "eta_var") in a:
        c_ii += f"$\\eta \\sim \\mathcal{{N}}({a[('q1c_ii', 'eta_mean')]}, {a[('q1c_ii', 'eta_var')]})$. "
    for field, sym in (("weight_a", "\\alpha_a ="), ("weight_b", "\\alpha_b ="), ("cov_c", "\\mathrm{Var}[c] ="), ("threshold", "\\eta >")):
        if ("q1c_ii", field) in a:
            c_ii += f"\\[ {sym} {a[('q1c_ii', field)]} \\]\n"
    out = ["\\documentclass{article}\n\\begin{document}\n\\section{Attention exploration}\n",
           "\\subsection*{(b)}\n\\begin{enumerate}\n", item("q1b_i", "M", "$M = {}$"), item("q1b_ii", "q", "$q = {}$"),
           "\\end{enumerate}\n\\subsection*{(c)}\n\\begin{enumerate}\n", item("q1c_i", "q", "\\begin{{equation*}} q = {} \\end{{equation*}}"),
           f"\\item {c_ii}\n\\end{{enumerate}}\n\\subsection*{{(d)}}\n\\begin{{enumerate}}\n",
           f"\\item \\begin{{align*}} q_1 &= {a[('q1d_i', 'q1')]} \\\\ q_2 &= {a[('q1d_i', 'q2')]} \\end{{align*}}\n",
           item("q1d_ii", "cov_c", "$\\mathrm{{Var}}[c] = {}$"), "\\end{enumerate}\n\\section{Pretraining}\n\\subsection*{(g)}\n"
           "\\begin{enumerate}\n\\item accuracy\n", item("q2g_ii", "ratio", "$\\frac{{\\text{{Perceiver}}}}{{\\text{{Vanilla}}}} = {}$"),
           "\\end{enumerate}\n\\end{document}\n"]
    return "".join(out)


def write_mixed_class(folder: Path, students: int, seed: int = 0) -> list[Path]:
    """`students` files in ``folder``: in turn a TOML answer file, a Markdown, a LaTeX and a notebook write-up,
    each of one student's drawn answers."""
    rng = random.Random(seed)
    paths = []
    for k in range(students):
        a = _draw(rng)
        kind = ("toml", "md", "tex", "ipynb")[k % 4]
        path = folder / f"student{k + 1:03d}.{kind}"
        if kind == "toml":
            parts: dict[str, list[str]] = {}
            for (part, field), text in a.items():
                parts.setdefault(part, []).append(f"{field} = {toml_string(text)}")
            text = "\n\n".join(f"[{part}]\n" + "\n".join(lines) for part, lines in parts.items()) + "\n"
        elif kind == "md":
            text = "\n\n".join(_markdown(a)) + "\n"
        elif kind == "tex":
            text = _latex(a)
        else:
            cells = [{"cell_type": "markdown", "metadata": {}, "source": c.splitlines(keepends=True)} for c in _markdown(a)]
            text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m derivations.bench_class", description=__doc__.splitlines()[0])
    parser.add_argument("--students", "--files", type=int, default=None, help="files to generate (default 50; 200 with --mixed)")
    parser.add_argument("--mixed", action="store_true",
                        help="a class of TOML files and Markdown, LaTeX and notebook write-ups, a quarter each")
    parser.add_argument("--hostile", type=int, default=0, help="how many of them carry one hostile field (default 0)")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes for `check` (default 0: as `check` chooses)")
    parser.add_argument("--field-timeout", type=float, default=None, metavar="SECONDS",
                        help="passed to `check` (default: check's own)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="write the class here instead of a temporary folder")
    args = parser.parse_args(argv)
    args.students = args.students or (200 if args.mixed else 50)
    if args.mixed and args.hostile:
        parser.error("--hostile plants fields in TOML files: use it without --mixed")
    if not 0 <= args.hostile <= args.students:
        parser.error("--hostile must be between 0 and --students")
    from .display import from_csv
    from .field_guard import GUARD

    with tempfile.TemporaryDirectory(prefix="attnlab-class-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.mixed:
            paths, planted = write_mixed_class(folder, args.students), {}
        else:
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
    what = "files (TOML, Markdown, LaTeX, notebooks)" if args.mixed else "answer files"
    print(f"checked {args.students} {what} ({args.hostile} hostile, {len(rows)} CSV rows) with --jobs {jobs} "
          f"in {elapsed:.1f} s")
    if args.hostile:
        kinds = sorted({r["evidence"].split(":")[0].split(" (")[0] for r in stopped})
        print(f"  fields stopped by the budget: {len(stopped)} ({sum(is_hostile)} hostile fields planted; {', '.join(kinds)})")
    print(f"  benign fields decided by their checker: {len(benign) - len(undecided)} of {len(benign)}")
    return 0 if not undecided else 1


if __name__ == "__main__":
    sys.exit(main())
