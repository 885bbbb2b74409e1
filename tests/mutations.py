"""Mutation check of the test suite (not part of the default run: pytest collects test_*.py only).

Each mutation is one small, realistic bug: a textual replacement (old -> new) in one file, which
must apply exactly once. For each, the working tree is copied into a temporary folder (without
.git, .venv, runs/ and caches; ../shared is linked beside the copy, so the data and CLAIMS.md are
found as usual), the bug is applied there, and the default suite runs in the copy:

    python -m pytest -x -q -p no:cacheprovider tests      (after the mutation's focus files alone)

with cwd = the copy, so the copy's packages are imported (checked before each run). A mutation
is "caught" when the suite fails, "SURVIVED" when it passes, "timeout" when it runs past the
per-mutation limit. Tests that already fail on the unmutated tree (a baseline run, first) are
deselected in the mutated runs and listed, so that they cannot "catch" every mutation.

    python tests/mutations.py --list
    python tests/mutations.py                      # every mutation (tens of minutes on 2 cores)
    python tests/mutations.py --only span-start-zero --only loss-counts-pad
    python tests/mutations.py --timeout 400 --no-baseline

A mutation's `focus` names test files run first, alone, only to reach a failure sooner; when
they pass, the whole default suite runs: the verdict is always the whole suite's.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the project's environment (make test creates it), else the interpreter running this script
PYTHON = os.environ.get("ATTNLAB_PYTHON") or str(REPO / ".venv" / "bin" / "python"
                                                 if (REPO / ".venv" / "bin" / "python").exists() else sys.executable)
IGNORED = shutil.ignore_patterns(".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".hypothesis",
                                 "*.egg-info", ".mypy_cache")


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    what: str
    focus: tuple[str, ...] = field(default=())


MUTATIONS = [
    # ---- the bugs named in issue 27
    Mutation("finetune-fresh-weights", "models/commands/finetune.py",
             'return model, {"kind": "finetune", "pretrained": pre',
             'return GPT(model.config), {"kind": "finetune", "pretrained": pre',
             "finetune --pretrained silently starts from fresh weights", ("tests/test_models_cli.py",)),
    Mutation("span-start-zero", "models/data.py",
             "start = rng.randint(0, n - span)", "start = 0 * rng.randint(0, n - span)",
             "span corruption's span always starts at position 0", ("tests/test_models_data.py",)),
    Mutation("iso-var-5pct", "simulate/samplers.py",
             "iso = problem.iso_var * (q @ q.T)", "iso = 1.05 * problem.iso_var * (q @ q.T)",
             "fast sampler: key covariance scale iso_var 5% too large", ("tests/test_simulate_samplers.py",)),
    Mutation("eta-var-20pct", "simulate/samplers.py",
             "qu = q @ problem.key_a_factor", "qu = math.sqrt(1.2) * (q @ problem.key_a_factor)",
             "fast sampler: η's variance 20% too large", ("tests/test_simulate_samplers.py",)),
    Mutation("loss-counts-pad", "models/model.py",
             "targets.reshape(-1), ignore_index=0)", "targets.reshape(-1), ignore_index=-100)",
             "the loss counts PAD targets", ("tests/test_models_train.py",)),
    Mutation("q1b-verdict-flipped", "derivations/q1b_projection.py",
             'return Decision(HOLDS, f"{shown} reduces to 0 using', 'return Decision(FAILS, f"{shown} reduces to 0 using',
             "the sheet's Q1b.i verdict flipped", ("tests/test_derivations.py",)),
    Mutation("prediction-after-first-mask-only", "models/evaluate.py",
             "parts = completion.split(MASK_CHAR)", "parts = completion.split(MASK_CHAR, 1)",
             "the prediction runs past the second ⁇ (split at the first ⁇ only)", ("tests/test_models_train.py",)),
    Mutation("fisher-table-wrong", "report/verdicts.py",
             "table = [[a.correct, a.total - a.correct], [b.correct, b.total - b.correct]]",
             "table = [[a.correct, a.total], [b.correct, b.total]]",
             "Fisher's test on (correct, total) instead of (correct, wrong)", ("tests/test_report.py",)),
    Mutation("recipe-dev-correct-is-total", "models/recipe.py",
             "return accuracy(preds, answers)[0], preds", "return accuracy(preds, answers)[1], preds",
             "the recipe records the dev total as dev_correct", ("tests/test_models_recipe.py",)),
    Mutation("report-stale", "report/REPORT.md",
             "of a regular expression reading",
             "of a regular-expression reading",
             "the committed report differs from what report builds", ("tests/test_report.py",)),
    # ---- 5% errors in each sampler parameter (issue 27: detected by the default suite)
    Mutation("eta-mean-5pct", "simulate/samplers.py",
             "self.mean = (problem.means @ q.T).T.copy()",
             "self.mean = (problem.means @ q.T).T.copy(); self.mean[:, problem.a] *= 1.05",
             "fast sampler: η's mean 5% too large", ("tests/test_simulate_samplers.py",)),
    Mutation("eta-var-5pct", "simulate/samplers.py",
             "qu = q @ problem.key_a_factor", "qu = math.sqrt(1.05) * (q @ problem.key_a_factor)",
             "fast sampler: η's variance 5% too large", ("tests/test_simulate_samplers.py",)),
    Mutation("faithful-iso-var-5pct", "simulate/samplers.py",
             "k *= self.iso_sd", "k *= math.sqrt(1.05) * self.iso_sd",
             "faithful sampler: iso_var 5% too large", ("tests/test_simulate_samplers.py",)),
    Mutation("values-5pct", "simulate/variance.py",
             "self.q, r = np.linalg.qr(values.T)", "self.q, r = np.linalg.qr(1.05 * values.T)",
             "the simulation's value vectors 5% too long", ("tests/test_simulate_samplers.py",)),
    Mutation("heads-independent", "simulate/samplers.py",
             "self.independent = not np.any(offdiag)", "self.independent = True",
             "fast sampler drops the covariance between heads", ("tests/test_simulate_samplers.py",)),
    # ---- our own
    Mutation("truncate-max-111", "models/data.py",
             "length = rng.randint(truncate_min, truncate_max(block_size))",
             "length = rng.randint(truncate_min, truncate_max(block_size) - 1)",
             "truncation length never reaches 112", ("tests/test_models_data.py",)),
    Mutation("span-one-too-long", "models/data.py",
             "span = min(n, rng.randint(1, max(1, n // 2 - 1)))", "span = min(n, rng.randint(1, max(1, n // 2)))",
             "span length on 1..L//2 (mean above L/4)", ("tests/test_models_data.py",)),
    Mutation("span-never-at-end", "models/data.py",
             "start = rng.randint(0, n - span)", "start = rng.randint(0, max(0, n - span - 1))",
             "the span never ends the truncated text", ("tests/test_models_data.py",)),
    Mutation("pretrained-dropout-reload-lost", "models/commands/finetune.py",
             "            model.load_state_dict(state)\n        pre = {", "        pre = {",
             "finetune --pretrained --dropout X rebuilds the model without its weights", ("tests/test_models_cli.py",)),
    Mutation("lr-progress-clamped", "models/train.py",
             "return max(floor, 0.5 * (1.0 + math.cos(math.pi * progress)))",
             "return max(floor, 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))",
             "the schedule's progress stops at 1 (the course's does not)", ("tests/test_models_train.py",)),
    Mutation("tokens-count-non-pad", "models/train.py",
             "self.tokens += y.numel()", "self.tokens += int((y != 0).sum())",
             "the schedule counts non-PAD targets only", ("tests/test_models_train.py",)),
    Mutation("decay-spares-layernorm", "models/model.py",
             'if "bias" not in n and "LayerNorm.weight" not in n]', 'if "bias" not in n and ".ln" not in n]',
             "weight decay spares the LayerNorm gains (not the course's rule)", ("tests/test_models_train.py",)),
    Mutation("single-query-scale", "models/model.py",
             "    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale\n    s = torch.matmul(q * scale, "
             "k.transpose(-2, -1))\n    if mask is not None:\n        s = s.masked_fill(~mask",
             "    scale = 1.0 / q.shape[-1] if scale is None else scale\n    s = torch.matmul(q * scale, "
             "k.transpose(-2, -1))\n    if mask is not None:\n        s = s.masked_fill(~mask",
             "single-query attention scaled by 1/D instead of 1/sqrt(D)", ("tests/test_models_speed.py",)),
    Mutation("heads-merged-without-transpose", "models/model.py",
             "y = y.transpose(1, 2).reshape(b, x_q.shape[1], x_q.shape[2])",
             "y = y.reshape(b, x_q.shape[1], x_q.shape[2])",
             "heads merged in the wrong order", ("tests/test_models_attention.py",)),
    Mutation("causal-mask-leaks-next", "models/model.py",
             "return torch.ones(n_queries, n_keys, dtype=torch.bool, device=device).tril()",
             "return torch.ones(n_queries, n_keys, dtype=torch.bool, device=device).tril(1)",
             "the causal mask lets each position see the next one", ("tests/test_models_attention.py",)),
    Mutation("recall-reads-first-answer", "models/evaluate.py",
             'at = 1 if answer_form == "direct" else 2', "at = 1",
             "recall forms read the sentence instead of the answer", ("tests/test_models_train.py",)),
    Mutation("dropout-not-rescaled", "models/model.py",
             "return torch.where(self.keep(x.shape, p), x * (1.0 / (1.0 - p)), 0.0)",
             "return torch.where(self.keep(x.shape, p), x, 0.0)",
             "fast dropout keeps units without the 1/(1-p) scale", ("tests/test_models_speed.py",)),
    Mutation("shuffle-by-default", "models/train.py",
             "shuffle: bool = False  # False:", "shuffle: bool = True  # False:",
             "the trainer shuffles by default (the course reads in file order)", ("tests/test_models_train.py",)),
    Mutation("accuracy-alpha-0.01", "report/verdicts.py",
             "ALPHA = 0.05", "ALPHA = 0.01",
             "the accuracy rule's level 0.01 instead of 0.05", ("tests/test_report.py",)),
    Mutation("finetune-target-off-by-one", "models/data.py",
             "return s[:-1], PAD_CHAR * (len(question) - 1) + s[len(question):]",
             "return s[:-1], PAD_CHAR * len(question) + s[len(question) + 1:]",
             "finetuning does not train the ⁇ after the question", ("tests/test_models_data.py",)),
]


def check_unique() -> None:
    names = [m.name for m in MUTATIONS]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"duplicate mutation names: {sorted(dup)}")


def copy_tree(dst_root: Path) -> Path:
    """The working tree (as it is, committed or not) in dst_root/tree, ../shared linked beside it."""
    tree = dst_root / "tree"
    shutil.copytree(REPO, tree, ignore=IGNORED, symlinks=True)
    shared = (REPO / ".." / "shared").resolve()
    if shared.is_dir():
        (dst_root / "shared").symlink_to(shared, target_is_directory=True)
    # a git repository of its own, so that tests reading `git rev-parse HEAD` see a commit there
    env = {**os.environ, "GIT_AUTHOR_NAME": "mutations", "GIT_AUTHOR_EMAIL": "m@example.invalid",
           "GIT_COMMITTER_NAME": "mutations", "GIT_COMMITTER_EMAIL": "m@example.invalid"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy", "--no-gpg-sign"]):
        subprocess.run(cmd, cwd=tree, check=True, env=env, capture_output=True)
    return tree


def apply(tree: Path, m: Mutation) -> None:
    path = tree / m.path
    text = path.read_text(encoding="utf-8")
    count = text.count(m.old)
    if count != 1:
        raise SystemExit(f"mutation {m.name}: the old string occurs {count} times in {m.path}, not once")
    path.write_text(text.replace(m.old, m.new), encoding="utf-8")


def check_imports(tree: Path) -> None:
    """The copy's packages are the ones imported from its root (not the editable install)."""
    out = subprocess.run([PYTHON, "-c", "import models, simulate, derivations, report, sys;"
                          "print('\\n'.join(m.__file__ for m in (models, simulate, derivations, report)))"],
                         cwd=tree, capture_output=True, text=True, check=True).stdout.split()
    bad = [f for f in out if not Path(f).resolve().is_relative_to(tree.resolve())]
    if bad:
        raise SystemExit(f"the copy imports packages from outside it: {bad}")


FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)


def _pytest(tree: Path, paths: list[str], timeout: float, deselect, exitfirst: bool):
    cmd = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(["-x"] if exitfirst else [])]
    cmd += [a for d in deselect for a in ("--deselect", d)] + paths
    return subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def run_suite(tree: Path, timeout: float, focus=(), deselect=(), exitfirst=True) -> tuple[str, list[str], float, str]:
    """(status, failing test ids, seconds, output tail): status caught / SURVIVED / timeout.
    With `focus`, those files run first (pytest -x on them alone); if they pass, the whole
    suite runs, so the verdict is always the default suite's."""
    t0 = time.monotonic()
    try:
        proc = None
        focus = [f for f in focus if (tree / f).exists()]
        if focus:
            proc = _pytest(tree, focus, timeout, deselect, exitfirst)
        if proc is None or proc.returncode == 0:
            proc = _pytest(tree, ["tests"], max(1.0, timeout - (time.monotonic() - t0)), deselect, exitfirst)
    except subprocess.TimeoutExpired:
        return "timeout", [], time.monotonic() - t0, ""
    seconds = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    failing = [m.group(2) for m in FAILED.finditer(out)]
    if proc.returncode == 0:
        return "SURVIVED", [], seconds, out[-400:]
    if proc.returncode in (1, 2) and (failing or proc.returncode == 2):
        return "caught", failing or ["(collection or usage error)"], seconds, out[-400:]
    return f"error rc={proc.returncode}", failing, seconds, out[-1500:]


def main(argv=None) -> int:
    check_unique()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="list the mutations and exit")
    p.add_argument("--only", action="append", metavar="NAME", help="run this mutation (repeatable)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per suite run (default 600)")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the run on the unmutated tree (then no test is deselected)")
    p.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                   help="deselect this test in every run (repeatable; added to the baseline's failures)")
    args = p.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:34} {m.path:32} {m.what}")
        return 0
    chosen = MUTATIONS
    if args.only:
        unknown = set(args.only) - {m.name for m in MUTATIONS}
        if unknown:
            p.error(f"unknown mutation(s): {', '.join(sorted(unknown))} (see --list)")
        chosen = [m for m in MUTATIONS if m.name in args.only]
    deselect = list(args.deselect)
    with tempfile.TemporaryDirectory(prefix="attnlab-mutations-") as tmp:
        if not args.no_baseline:
            tree = copy_tree(Path(tmp) / "baseline")
            check_imports(tree)
            status, failing, seconds, _ = run_suite(tree, args.timeout, deselect=deselect, exitfirst=False)
            state = "passes" if status == "SURVIVED" else f"{len(failing)} failing test(s)" if failing else status
            print(f"baseline (unmutated copy): {state} in {seconds:.0f} s", flush=True)
            for t in failing:
                print(f"  fails without any mutation, deselected below: {t}", flush=True)
            deselect += failing
            shutil.rmtree(Path(tmp) / "baseline")
        print(f"\n{'mutation':34} {'result':9} {'seconds':>7}  first failing test", flush=True)
        results = []
        for m in chosen:
            root = Path(tmp) / m.name
            tree = copy_tree(root)
            apply(tree, m)
            check_imports(tree)
            status, failing, seconds, tail = run_suite(tree, args.timeout, m.focus, deselect)
            results.append((m, status))
            print(f"{m.name:34} {status:9} {seconds:7.0f}  {failing[0] if failing else '-'}", flush=True)
            if status.startswith("error"):
                print("  " + tail.replace("\n", "\n  "), flush=True)
            shutil.rmtree(root)
    survived = [m.name for m, s in results if s != "caught"]
    print(f"\n{len(results) - len(survived)} of {len(results)} caught"
          + (f"; not caught: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
