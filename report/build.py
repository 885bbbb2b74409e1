"""Collect everything the report shows into one context, then generate its files.

`collect` asks the three packages: `derivations` (the audit and the correct answers),
`simulate` (the variance sweep and its figures), `models` (the receptive field, the dev
set) and the recorded results in `report/results/`. `generate` turns the context into
the bytes of every file: REPORT.md, index.html, figures/*.png and data/*.csv. Nothing
depends on the clock or the machine, so the same inputs give the same bytes, and
`stale` can compare a fresh generation with the files on disk.
"""
from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from simulate.output import write_atomic

from .context import Context, FigureFile, g, num

REPORT_DIR = Path(__file__).resolve().parent
REPO_ROOT = REPORT_DIR.parent
RESULTS_DIR = REPORT_DIR / "results"
# written by `python -m report.screenshots` (headless Chromium), not by the build
SCREENSHOTS = {"first screen": ("figures/screenshot.png", ""), "model section": ("figures/screenshot-model.png", "#model")}
GENERATED_DIRS = ("figures", "data")       # folders whose files all come from the build
TOP_FILES = ("REPORT.md", "index.html")

# The simulations: Monte Carlo samples per point (the sweep's default) and the fixed seed.
SIM_SAMPLES, QUICK_SIM_SAMPLES = 200_000, 20_000
SIM_SEED = 0
KEY_BETA, KEY_ETA_VAR = 10.0, 0.5          # the sheet's scale and the question's Var[η]
SIM_N, SIM_D, SIM_VALUES_SEED = 8, 16, 0   # run_sweep's defaults, stated here for the text

QUESTIONS = (
    ("Q1a", "Question 1(a): copying"),
    ("Q1b", "Question 1(b): an average of two"),
    ("Q1c", "Question 1(c): drawbacks of single-headed attention"),
    ("Q1d", "Question 1(d): benefits of multi-headed attention"),
    ("Q2", "Question 2: pretrained transformers and knowledge access"),
    ("Q3", "Question 3: considerations in pretrained knowledge"),
)

# The runs the questions ask for, in the order of the results table: (label, variant, recipe, claim).
EXPECTED_RUNS = (
    ("vanilla, no pretraining (Q2d)", "vanilla", "no-pretraining", "Q2d"),
    ("London baseline (Q2d)", "none", "london", None),
    ("vanilla, pretrain + finetune (Q2f)", "vanilla", "pretrain-finetune", "Q2f"),
    ("perceiver m = 64, pretrain + finetune (Q2g.i)", "perceiver", "pretrain-finetune", "Q2g.i"),
    ("nearest training name (Q3c)", "none", "nearest-name", "Q3c"),
)


class BuildError(Exception):
    """A problem with the inputs that the user can fix; one line."""


def shown(path: Path) -> str:
    """A path for messages: relative to the working folder when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def say(message: str) -> None:
    print(f"report: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    quick: bool = False
    results_dir: Path = RESULTS_DIR
    data_dir: Path | None = None

    @property
    def samples(self) -> int:
        return QUICK_SIM_SAMPLES if self.quick else SIM_SAMPLES


# ---------------------------------------------------------------------------- the audit


@lru_cache(maxsize=1)
def _audit():
    from derivations.claims import audit
    return tuple(audit())


def _claim_order() -> tuple[list[str], str]:
    from derivations.claims import CLAIMS_FILE, REGISTRY, claim_ids_in
    if CLAIMS_FILE.is_file():
        return claim_ids_in(CLAIMS_FILE), ""
    return list(REGISTRY), f"{CLAIMS_FILE.name} was not found beside the repository: claims in the registry's order"


def collect_audit(ctx: Context, records, receptive_why: str) -> None:
    from . import mathrender, verdicts

    ids, ctx.ids_note = _claim_order()
    say(f"deciding {len(ids)} claims (derivations.claims.audit)")
    decided = {r.claim_id: r for r in _audit()}
    for cid in ids:
        r = decided.get(cid)
        if r is None:
            ctx.claims.append({"id": cid, "statement": "(in CLAIMS.md, but no proof is registered)",
                               "verdict": "missing", "evidence": "derivations.claims.REGISTRY has no entry for this id",
                               "decided_by": "—", "answer": "", "formulas": []})
            ctx.missing.append(f"claim {cid}: no proof registered in derivations")
            continue
        if r.claim_id in verdicts.TARGETS:
            sheet = verdicts.Count(int(r.details["sheet_correct"]), int(r.details["dev_total"]))
            why = verdicts.perceiver_explanation(records, sheet, receptive_why) if cid == "Q2g.i" else ""
            r = verdicts.decide_accuracy(r, records, why=why)
        elif cid == "Q3c":
            r = verdicts.decide_nearest_name(r, records)
        formulas = []
        for name, expr in r.formulas.items():
            if not mathrender.is_typesettable(expr):
                say(f"warning: {cid} formula {name!r} is {expr!r}, not a formula: left out")
                ctx.formula_errors.append(f"{cid} {name}: derivations gives {expr!r} instead of a formula")
                continue
            f = mathrender.render(name, expr)
            if f.png is None:
                say(f"warning: {cid} formula {name!r} could not be typeset: {f.error}")
                ctx.formula_errors.append(f"{cid} {name}: mathtext could not typeset it ({f.error})")
            formulas.append(f)
        ctx.claims.append({"id": cid, "statement": r.statement, "verdict": r.verdict, "evidence": r.evidence,
                           "decided_by": r.decided_by, "answer": r.answer, "formulas": formulas,
                           "details": r.details})
        if r.verdict == "pending" and cid not in verdicts.TARGETS:  # those are listed with the training results
            ctx.missing.append(f"claim {cid}: pending: {r.evidence}")
    for key, title in QUESTIONS:
        group = [c for c in ctx.claims if c["id"].split(".")[0].startswith(key)]
        ctx.questions.append((key, title, group))
    for c in ctx.claims:
        ctx.counts[c["verdict"]] = ctx.counts.get(c["verdict"], 0) + 1
    ctx.rules = list(verdicts.RULES)


# ---------------------------------------------------------------------------- simulations


@lru_cache(maxsize=2)
def _sweep(samples: int, quick: bool):
    from simulate.sweep import run_sweep
    with tempfile.TemporaryDirectory(prefix="attnlab-sweep-") as tmp:
        result = run_sweep(tmp, samples=samples, seed=SIM_SEED, quick=quick, progress=sys.stderr.isatty())
        files = {key: Path(p).read_bytes() for key, p in result.files.items()}
    return result, files


@lru_cache(maxsize=2)
def _key_numbers(samples: int) -> tuple[dict, ...]:
    """The three head choices at β = 10, Var[η] = ½: simulated and by quadrature."""
    from simulate.predictions import quadrature, sheet_total_variance
    from simulate.problem import HEADS, make_problem
    from simulate.variance import simulate

    rows = []
    for k, heads in enumerate(HEADS):
        problem = make_problem(heads, KEY_BETA, SIM_N, SIM_D, KEY_ETA_VAR, 0.0, values_seed=SIM_VALUES_SEED)
        res = simulate(problem, samples, seed=1000 + k, with_prediction=False)
        q = quadrature(heads, KEY_BETA, SIM_N, KEY_ETA_VAR, np.asarray(problem.values))
        sheet = sheet_total_variance(heads, KEY_BETA, KEY_ETA_VAR, np.asarray(problem.values))
        rows.append({"heads": heads, "total_variance": res.total_variance, "weight_a_var": res.weight_a_var,
                     "weight_a_mean": res.weight_a_mean, "pred_total_variance": q["total_variance"],
                     "pred_weight_a_var": q["weight_a_var"], "pred_weight_a_mean": q["weight_a_mean"],
                     "sheet_total_variance": sheet, "samples": samples, "seed": 1000 + k})
    return tuple(rows)


HEAD_WORDS = {"single": "one head, q = β(μ_a + μ_b)", "multi": "two heads, q_1 = βμ_a, q_2 = βμ_b",
              "seed-multi": "the sheet's two heads, q_1 = q_2 = β(μ_a + μ_b)"}


def _pm(est) -> str:
    from simulate.estimators import Z95
    return f"{g(float(est.estimate))} ± {g(Z95 * float(est.stderr), 2)}"


def _nearest(points: list[dict], key: str, value: float, heads: str) -> dict | None:
    pts = [p for p in points if p["heads"] == heads]
    return min(pts, key=lambda p: abs(math.log(p[key] / value))) if pts else None


def collect_simulations(ctx: Context, opts: Options) -> None:
    say(f"simulating the variance sweep ({'quick, ' if opts.quick else ''}{opts.samples} samples a point; "
        "simulate.sweep.run_sweep)")
    result, files = _sweep(opts.samples, opts.quick)
    key = _key_numbers(opts.samples)
    by = {r["heads"]: r for r in key}
    points = result.points

    # Coverage of the quadrature by the 95% intervals, over every simulated quantity.
    checks = [(p, name) for p in points for name in ("weight_a_mean", "weight_a_var", "total_variance")]
    covered = sum(p[f"{n}_ci_low"] <= p[f"pred_{n}"] <= p[f"{n}_ci_high"] for p, n in checks)
    zs = [abs(p[f"z_{n}"]) for p, n in checks if math.isfinite(p[f"z_{n}"])]
    single, multi, seed = by["single"], by["multi"], by["seed-multi"]
    ratio = float(single["total_variance"].estimate) / float(multi["total_variance"].estimate)

    beta_pts = [p for p in points if p["plot"] == "beta"]
    lo_b, hi_b = min(p["beta"] for p in beta_pts), max(p["beta"] for p in beta_pts)
    s_lo, s_hi = _nearest(beta_pts, "beta", lo_b, "single"), _nearest(beta_pts, "beta", hi_b, "single")
    m_hi = _nearest(beta_pts, "beta", hi_b, "multi")
    sheet_text = (f"The sheet's formula (V_a + V_b)·Var[t], summed over the components, gives "
                  f"{g(single['sheet_total_variance'])} at these v_a, v_b (d = {SIM_D}, values N(0, I/d), seed "
                  f"{SIM_VALUES_SEED}; it depends on them, so other places that use other values give other numbers)"
                  + (" — a negative “variance”, because it adds the value vectors instead of taking the "
                     "covariance of c" if single["sheet_total_variance"] < 0 else "")
                  + f", against the true {g(single['pred_total_variance'])}.")
    reading_beta = (
        f"Two heads: tr Cov[c] = {_pm(multi['total_variance'])} at β = {num(KEY_BETA)}, against "
        f"{_pm(single['total_variance'])} for one head ({g(ratio, 2)}× lower; quadrature "
        f"{g(multi['pred_total_variance'])} and {g(single['pred_total_variance'])}). The sheet's two identical "
        f"heads give {_pm(seed['total_variance'])}: the same as one head. As β grows from {g(lo_b)} to {g(hi_b)}, "
        f"one head's variance rises from {g(s_lo['total_variance'])} to {g(s_hi['total_variance'])} while two "
        f"heads' ends at {g(m_hi['total_variance'])}. " + sheet_text)
    reading_hist = (
        f"At β = {num(KEY_BETA)}, Var[η] = {num(KEY_ETA_VAR)}: the weight on v_a has variance "
        f"{_pm(single['weight_a_var'])} with one head (quadrature {g(single['pred_weight_a_var'])}; the bound ¼ "
        f"of Q1c.ii.bound is approached because the weight flips between ≈0 and ≈1 with the sign of η − 1), "
        f"against {_pm(multi['weight_a_var'])} for head 1 of two heads (quadrature {g(multi['pred_weight_a_var'])}), "
        f"whose weight on v_a stays near 1 unless η falls below 0.")
    eta_pts = [p for p in points if p["plot"] == "eta_var"]
    lo_e, hi_e = min(p["eta_var"] for p in eta_pts), max(p["eta_var"] for p in eta_pts)
    e = {h: (_nearest(eta_pts, "eta_var", lo_e, h), _nearest(eta_pts, "eta_var", hi_e, h)) for h in ("single", "multi")}
    reading_eta = (
        f"At β = {num(eta_pts[0]['beta'])}, as Var[η] grows from {g(lo_e)} to {g(hi_e)}: one head's tr Cov[c] goes "
        f"from {g(e['single'][0]['total_variance'])} to {g(e['single'][1]['total_variance'])}, two heads' from "
        f"{g(e['multi'][0]['total_variance'])} to {g(e['multi'][1]['total_variance'])}. One head is noisy as soon "
        f"as key a's length varies at all; two heads only once η can turn negative.")
    names = {"variance_vs_beta": ("figures/sim_variance_vs_beta.png", "Total variance of c against β", reading_beta),
             "weight_histogram": ("figures/sim_weight_histogram.png", "The weight on v_a across key samples",
                                  reading_hist),
             "variance_vs_eta_var": ("figures/sim_variance_vs_eta_var.png", "Total variance of c against Var[η]",
                                     reading_eta)}
    from .pngs import strip_metadata
    for k, (file, title, reading) in names.items():
        ctx.figures.append(FigureFile(file, title, reading, strip_metadata(files[k])))
    ctx.data_files["data/sim_points.csv"] = files["points"]
    ctx.data_files["data/sim_curves.csv"] = files["curves"]
    ctx.simulations = {
        "figures": [names[k][0] for k in names], "key": key, "points": len(points),
        "coverage": (covered, len(checks)), "max_z": max(zs) if zs else float("nan"),
        "samples": opts.samples, "n": SIM_N, "d": SIM_D, "seed": SIM_SEED,
        "beta": KEY_BETA, "eta_var": KEY_ETA_VAR, "head_words": HEAD_WORDS,
    }


# ---------------------------------------------------------------------------- the model


def _dev_rows(opts: Options):
    from models import data as D
    from models.fileio import UserError
    try:
        ddir = D.data_dir(opts.data_dir)
        vocab = D.load_vocab(ddir)
        return D.read_tsv(ddir / D.DEV_TSV, vocab, answers=True), ""
    except UserError as exc:
        return None, f"the dev set could not be read ({exc})"


def _dependence(variant: str, m: int, wiring: str, t: int) -> np.ndarray:
    """[j, i]: output j can depend on input i, from `models.receptive_field` (masks only)."""
    import torch

    from models.model import GPT, GPTConfig
    from models.receptive_field import dependence_from_masks
    torch.manual_seed(0)
    model = GPT(GPTConfig(n_layer=4, n_head=2, n_embd=16, dropout=0.0, variant=variant, bottleneck_dim=m,
                          perceiver_wiring=wiring))
    return dependence_from_masks(model, t).numpy()


@lru_cache(maxsize=4)
def _receptive(opts: Options) -> dict:
    from models.receptive_field import describe_rule, question_impact
    t = 128
    panels_spec = (("vanilla (causal self-attention)", "vanilla", 64, "default"),
                   ("perceiver m = 64, default wiring", "perceiver", 64, "default"),
                   ("perceiver m = 64, ln-both wiring", "perceiver", 64, "ln-both"),
                   ("perceiver m = 32 (course code default), default wiring", "perceiver", 32, "default"))
    panels, rules = [], {}
    for title, variant, m, wiring in panels_spec:
        dep = _dependence(variant, m, wiring, t)
        panels.append((title, dep))
        if variant == "perceiver":
            import torch
            rules[(m, wiring)] = describe_rule(torch.from_numpy(dep), m)
    rows, note = _dev_rows(opts)
    impact = {m: question_impact(rows, m) for m in (32, 64)} if rows else {}
    answer_rows = None
    if rows:
        # The first answer character is predicted at the position of the ⁇ after the question.
        answer_rows = (min(len(r.question) for r in rows),
                       max(len(r.question) + len(r.answer) for r in rows))
    return {"panels": panels, "rules": rules, "impact": impact, "note": note, "answer_rows": answer_rows,
            "longest_question": max((len(r.question) for r in rows), default=None) if rows else None,
            "dev_questions": len(rows) if rows else None}


def receptive_reading(rf: dict, analysis: dict | None) -> tuple[str, str]:
    """(reading for the figure, the short "why" for Q2g.i)."""
    r64d, r64l = rf["rules"][(64, "default")], rf["rules"][(64, "ln-both")]
    if r64d == r64l:
        parts = [f"With the course's masks (query i sees keys ≤ i), in both wirings of the perceiver (m = 64) {r64d}."]
    else:
        parts = [f"With the course's masks (query i sees keys ≤ i), default wiring: {r64d}; ln-both wiring: {r64l}."]
    why = (f"with the course's masks a perceiver position j ≥ m sees only inputs 0..m−1 and itself "
           f"({r64d}).")
    if rf["impact"]:
        i32, i64 = rf["impact"][32], rf["impact"][64]
        parts.append(
            f"On the dev set (longest question {rf['longest_question']} characters): at m = 64, the course's "
            f"command, {i64['name_ends_at_or_after_m']}/{i64['questions']} names end at or after position 64 and "
            f"{i64['answer_reaches_position_m']}/{i64['questions']} answers reach it, so the bottleneck hides nothing "
            f"from the answer. At m = 32, the course code's default, {i32['name_ends_at_or_after_m']}/"
            f"{i32['questions']} names end at or after position 32 (their end is invisible to every answer "
            f"position) and {i32['answer_reaches_position_m']}/{i32['questions']} answers have characters "
            f"predicted at positions ≥ 32, each seeing only the first 32 characters and the character just "
            f"before it.")
        why += (f" At the course's m = 64 no dev question reaches position 64, so the faithful model sees every "
                f"name; at the code's default m = 32, {i32['name_ends_at_or_after_m']}/{i32['questions']} names are "
                f"cut and {i32['answer_reaches_position_m']}/{i32['questions']} answers are decoded from the first 32 characters plus one, "
                f"which would explain an accuracy near the sheet's if it ran with m = 32 (a recorded m = 32 run "
                f"would test this).")
    else:
        parts.append(rf["note"])
    if analysis and isinstance(analysis.get("results"), list):
        agree = [r for r in analysis["results"] if r.get("masks_equal_gradients")]
        parts.append(f"`python -m models receptive-field` checked the masks against gradients for "
                     f"{len(analysis['results'])} (wiring, m) pairs: {len(agree)} agree.")
    return " ".join(parts), why


def _plain(expr) -> str:
    """A SymPy expression as one line of plain text: m(Lm + 2ℓ − 2m)/(Lℓ²)."""
    text = str(expr).replace("**2", "²").replace("ell", "ℓ").replace("*", "").replace(" - ", " − ")
    return text


def collect_model(ctx: Context, opts: Options, records) -> None:
    from derivations import numeric
    from derivations.q2g_complexity import RATIO

    from . import plots, verdicts
    from .results import find_metrics, load_analysis

    say("model section: results, receptive field (models.receptive_field), complexity ratio")
    claims = {c["id"]: c for c in ctx.claims}
    expected, used = [], set()
    for label, variant, recipe, claim_id in EXPECTED_RUNS:
        matching = [r for r in records if r.variant == variant and r.recipe == recipe]
        faithful = [r for r in matching if r.faithful or recipe == "nearest-name"]
        before = [r for r in matching if r.faithful_before_correction]
        sheet = None
        if claim_id in verdicts.TARGETS:
            det = claims[claim_id]["details"] if claim_id in claims else {}
            if "sheet_correct" in det:
                sheet = verdicts.Count(int(det["sheet_correct"]), int(det["dev_total"]))
        typical, seen, numbers = verdicts.OTHERS.get((variant, recipe), ("—", "—", None))
        expected.append({"label": label, "variant": variant, "recipe": recipe, "claim": claim_id,
                         "records": faithful, "before": before, "sheet": sheet, "typical": typical, "seen": seen, "numbers": numbers,
                         "verdict": claims.get(claim_id, {}).get("verdict") if claim_id else None})
        used.update(id(r) for r in faithful + before)
        if not faithful:
            extra = f" ({len(matching)} non-faithful run(s) recorded)" if matching else ""
            then = f", so claim {claim_id} is pending" if claim_id in verdicts.TARGETS else ""
            ctx.missing.append(f"training result: {label}: not yet run{extra}{then}")
    recipes = [r for r in records if r.recipe == "cpu-recipe" and id(r) not in used]
    used.update(id(r) for r in recipes)
    others = [r for r in records if id(r) not in used]

    rows = []
    for e in expected:
        runs = [(r.accuracy, *verdicts.Count(r.dev_correct, r.dev_total).wilson95()) for r in e["records"]]
        n = e["numbers"]
        rows.append({"label": e["label"].split(" (")[0], "sheet": e["sheet"].accuracy if e["sheet"] else None,
                     "runs": runs, "others": tuple(x / 100 for x in n) if n else None})
    for r in others:
        rows.append({"label": f"{r.name} ({r.describe_config()})", "sheet": None, "others": None,
                     "runs": [(r.accuracy, *verdicts.Count(r.dev_correct, r.dev_total).wilson95())]})
    ctx.figures.append(FigureFile(
        "figures/model_accuracy.png", "Dev accuracy: the sheet, this project, and what others report",
        "Red crosses: the answer sheet's numbers. Blue: this project's recorded runs with 95% Wilson intervals "
        "(“not yet run” where no record exists). Grey bars: the typical value (dark) and the range (light) that "
        "public reports of this setup give (MODEL.md).", plots.accuracies(rows, ctx.dev_questions)))

    logs, log_notes = find_metrics(records, opts.results_dir, REPO_ROOT)
    if logs:
        ctx.figures.append(FigureFile("figures/model_loss.png", "Training loss",
                                      "Loss per optimizer step (log scale; pretraining left, finetuning right) and the "
                                      "learning rate (dotted, same colour) from the committed metrics logs: " + ", ".join(f"{l.label} ({l.path})" for l in logs) + ".",
                                      plots.loss_curves(logs)))
        short = [g for g in logs if g.label.endswith("-first-epochs-pretrain")]
        full = [g for g in logs if g.label.endswith("-pretrain") and g not in short and g.label.startswith("vanilla")]
        if short:
            ctx.figures.append(FigureFile(
                "figures/model_pretrain_options.png",
                "Pretraining: the course's trainer.py against MODEL.md before its correction",
                "The first epochs of vanilla pretraining (the course's schedule, seed 0) on 2-core CPUs, solid: "
                + ", ".join(g.label for g in short) + "; dashed: the same steps of the full-schedule runs ("
                + (", ".join(g.label for g in full) or "none recorded") + "). The course-trainer runs decay every "
                "parameter without 'bias' in its name and keep the file's order, as the course's trainer.py does "
                "(the defaults since MODEL.md's correction; the earlier one was run with --decay all-but-bias "
                "--no-shuffle); the control and the full-schedule run used minGPT's rule and shuffled batches, "
                "MODEL.md before its correction (same seed and initialisation). Logs in report/results/metrics/.",
                plots.early_pretraining(short, full)))
    else:
        ctx.missing.append("loss curves: no metrics log committed under report/results/metrics/")
    for note in log_notes:
        ctx.missing.append(f"loss curve of {note}")

    recipe = collect_recipe(ctx, recipes)

    rf = _receptive(opts)
    analysis = load_analysis(opts.results_dir, "receptive-field")
    rf_reading, _ = receptive_reading(rf, analysis)
    ctx.figures.append(FigureFile("figures/model_receptive_field.png",
                                  "Perceiver receptive field: which inputs each output position can depend on",
                                  rf_reading, plots.receptive_fields(rf["panels"], rf["answer_rows"])))

    course = {"L": 4, "ell": 128, "m": 64}
    ratio_course = float(numeric.complexity_ratio(course["L"], course["ell"], course["m"]))
    ctx.figures.append(FigureFile(
        "figures/model_complexity.png", "Attention cost of the perceiver relative to vanilla",
        f"cost(perceiver)/cost(vanilla) = {_plain(RATIO)} (derivations.q2g_complexity, plotted through "
        f"derivations.numeric.complexity_ratio). At the course's L = 4, ℓ = 128, m = 64 the perceiver's attention "
        f"costs {g(ratio_course)} of vanilla's; the ratio falls like 1/ℓ for fixed m (linear instead of quadratic "
        f"in ℓ); it equals 1 at m = ℓ for every L, so the bottleneck only pays while m < ℓ.",
        plots.complexity(numeric.complexity_ratio, course)))
    entropy = load_analysis(opts.results_dir, "attention-entropy")
    if entropy is not None and not isinstance(entropy.get("models"), list):
        ctx.missing.append("attention entropy: report/results/analysis/attention-entropy.json has no models list")
        entropy = None
    ctx.model = {"expected": expected, "others": others, "records": records, "rf_reading": rf_reading,
                 "log_notes": log_notes, "analysis": analysis, "recipe": recipe, "entropy": entropy}


# The recipe's mark: on every seed, one more than a regular expression reading "born in X" from the person's
# own wiki.txt line gets (209 of MODEL.md's 500 dev questions, "How much there is to learn"), within the budget,
# with the seeds no further than RECIPE_SPREAD of RECIPE_OF either side of their midpoint. The mark is counted
# in MODEL.md's unit, RECIPE_OF questions, whatever the size of the dev set a record was scored on.
RECIPE_RULE, RECIPE_OF = 209, 500
RECIPE_TARGET = RECIPE_RULE + 1  # of RECIPE_OF
RECIPE_SPREAD = 15


def _curve_label(record, diff: dict) -> str:
    """A recipe record in a legend: the recipe's seed, or what differs (at most two settings)."""
    if not diff:
        return f"cpu-60, seed {record.seed}"
    shown = ", ".join(f"{k} = {v}" for k, v in list(diff.items())[:2]) + (", ..." if len(diff) > 2 else "")
    return f"{record.name} ({shown})"


def collect_recipe(ctx: Context, recipes) -> dict | None:
    """The CPU recipe (`python -m models recipe`): each record a row of the ablation table, its
    settings shown as what differs from the recipe as defined (the records without changes);
    the final recipe's seeds summarised; the dev accuracy against wall time plotted."""
    from . import plots
    from .verdicts import Count

    if not recipes:
        ctx.missing.append("CPU recipe (python -m models recipe cpu-60): no record yet")
        return None
    from models.recipe import defined_settings

    reference = defined_settings("cpu-60")  # the recipe as defined now; records hold the settings they ran
    diffs = {id(r): r.settings_changed_from(reference) for r in recipes}
    finals = sorted((r for r in recipes if not diffs[id(r)]), key=lambda r: (r.seed is None, r.seed))
    rows = []
    for r in sorted(recipes, key=lambda r: (bool(diffs[id(r)]), -r.accuracy, r.name)):
        rows.append({"record": r, "diff": diffs[id(r)], "epochs": (r.settings or {}).get("pretrain_epochs"),
                     "bio": r.bio_completion, "recall": r.name_recall, "recital": r.recital,
                     "loss": r.final_pretrain_loss, "budget": r.budget_seconds, "within": r.within_budget,
                     "count": Count(r.dev_correct, r.dev_total)})
    summary = None
    if finals:
        accs = [r.accuracy for r in finals]
        summary = {"seeds": [r.seed for r in finals], "accuracies": accs, "mean": float(np.mean(accs)),
                   "spread": (min(accs), max(accs)), "walls": [r.wall_seconds for r in finals],
                   "counts": [r.dev_correct for r in finals], "totals": [r.dev_total for r in finals],
                   # what stands between the seeds and the mark, each empty or zero where that part is met;
                   # counts are compared as counts of RECIPE_OF (the mark's unit), whatever the dev set's size
                   "over_budget": [r.seed for r in finals if not r.within_budget],
                   "below": [r.seed for r in finals if r.dev_correct < RECIPE_TARGET * r.dev_total / RECIPE_OF],
                   "apart": RECIPE_OF * (max(accs) - min(accs))}
    # the figure: the recipe's seeds, and the three best records that differ from it (the levers that
    # mattered); every record is in the table
    levers = sorted((r for r in recipes if diffs[id(r)]), key=lambda r: (-r.accuracy, r.name))[:3]
    curves = [(_curve_label(r, diffs[id(r)]), [(p["seconds"], p["dev_correct"] / r.dev_total)
                                                for p in r.curve or []])
              for r in finals + levers if r.curve]
    if curves:
        budget = max((r.budget_seconds or 0) for r in recipes) or None
        ctx.figures.append(FigureFile(
            "figures/model_recipe.png", "CPU recipe: dev accuracy against wall time",
            "Each line is one recipe record (python -m models recipe): the recipe as defined, one line a seed, "
            "and the three best records that differ from it (the setting named in brackets; every record is in "
            "the table above): the dev accuracy measured during pretraining (every few epochs, the questions "
            "being mixed into pretraining) and, last, after the finetune, against the wall time since the command "
            f"started on 2 CPU cores. Dashed: the mark ({RECIPE_TARGET} of {RECIPE_OF}, one more than a regular expression "
            f"reading \"born in X\" from the person's own wiki.txt line) and the time budget.",
            plots.recipe_curves(curves, RECIPE_TARGET / RECIPE_OF, budget, f"mark: {RECIPE_TARGET}/{RECIPE_OF}",
                                ctx.dev_questions)))
    return {"rows": rows, "summary": summary, "reference": reference, "target": RECIPE_TARGET, "rule": RECIPE_RULE,
            "spread": RECIPE_SPREAD, "of": RECIPE_OF}


# ---------------------------------------------------------------------------- collect / generate / write


def _shared_dev_total(records) -> int | None:
    """The dev set's size as the records say it, when the data cannot be read: their dev_total if they agree."""
    totals = {r.dev_total for r in records}
    return totals.pop() if len(totals) == 1 else None


def collect(opts: Options) -> Context:
    from .results import ResultsError, load_records

    try:
        records = load_records(opts.results_dir, REPO_ROOT)
    except ResultsError as exc:
        raise BuildError(str(exc)) from None
    say(f"{len(records)} result record(s) in {shown(opts.results_dir)}")
    rf = _receptive(opts)
    ctx = Context(dev_questions=rf["dev_questions"] or _shared_dev_total(records))
    _, why = receptive_reading(rf, None)
    collect_audit(ctx, records, why)
    collect_simulations(ctx, opts)
    collect_model(ctx, opts, records)
    return ctx


def generate(opts: Options) -> dict[str, bytes]:
    """Every generated file, by path relative to the report folder: the figures and data files of the
    context, and the context's outline (report.outline) rendered as REPORT.md and index.html."""
    from .render_html import render_html
    from .render_md import render_markdown

    ctx = collect(opts)
    files = {f.file: f.png for f in ctx.figures}
    files |= ctx.data_files
    files["REPORT.md"] = render_markdown(ctx).encode("utf-8")
    files["index.html"] = render_html(ctx).encode("utf-8")
    return files


def _on_disk(out_dir: Path) -> set[str]:
    """The generated files present in ``out_dir`` (the screenshots are report.screenshots', not ours)."""
    found = {name for name in TOP_FILES if (out_dir / name).exists()}
    for folder in GENERATED_DIRS:
        d = out_dir / folder
        if d.is_dir():
            found |= {p.relative_to(out_dir).as_posix() for p in d.iterdir() if p.is_file()}
    found -= {file for file, _ in SCREENSHOTS.values()}
    return found


def build(out_dir: Path, opts: Options) -> list[str]:
    """Generate and write every file into ``out_dir``; remove generated files no longer made."""
    files = generate(opts)
    for name, data in sorted(files.items()):
        target = out_dir / name
        if not target.exists() or target.read_bytes() != data:
            write_atomic(target, data)
    for name in sorted(_on_disk(out_dir) - set(files)):
        (out_dir / name).unlink()
    return sorted(files)


def stale(out_dir: Path, opts: Options) -> list[str]:
    """The files in ``out_dir`` that differ from a fresh generation (missing, changed or orphaned)."""
    files = generate(opts)
    present = _on_disk(out_dir)
    out = []
    for name in sorted(files):
        target = out_dir / name
        if name not in present:
            out.append(f"{name} (missing)")
        elif target.read_bytes() != files[name]:
            out.append(f"{name} (differs)")
    out += [f"{name} (no longer generated)" for name in sorted(present - set(files))]
    return out
