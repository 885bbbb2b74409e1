"""The report's tables as plain text cells, shared by the Markdown and HTML renderers."""
from __future__ import annotations

from .context import Context, duration, g
from .verdicts import Count

Table = tuple[list[str], list[list[str]]]

INTRO = ("Every claim of the answer sheet (`../shared/seed/CLAIMS.md`) is decided by one function, named in the "
         "last column: a SymPy proof in `derivations/`, or, for the accuracies and the nearest-name strategy, "
         "the recorded training results in `report/results/` judged by `report/verdicts.py`.")


def audit_table(ctx: Context) -> Table:
    header = ["id", "the sheet's claim", "verdict", "evidence", "decided by"]
    return header, [[c["id"], c["statement"], c["verdict"], c["evidence"], c["decided_by"]] for c in ctx.claims]


def key_numbers_table(ctx: Context) -> Table:
    from simulate.estimators import Z95

    sim = ctx.simulations
    header = ["heads", "tr Cov[c] simulated (± 95%)", "tr Cov[c] quadrature", "the sheet's formula (same v_a, v_b, d)",
              "Var[weight on v_a] simulated (± 95%)", "Var[weight on v_a] quadrature"]
    rows = []
    for r in sim["key"]:
        tv, wv = r["total_variance"], r["weight_a_var"]
        sheet = "—" if r["sheet_total_variance"] is None else g(r["sheet_total_variance"])
        rows.append([sim["head_words"][r["heads"]],
                     f"{g(float(tv.estimate))} ± {g(Z95 * float(tv.stderr), 2)}", g(r["pred_total_variance"]), sheet,
                     f"{g(float(wv.estimate))} ± {g(Z95 * float(wv.stderr), 2)}", g(r["pred_weight_a_var"])])
    return header, rows


BEFORE_CORRECTION = "MODEL.md before its correction (minGPT decay, shuffled)"
BEFORE_EXPLAINED = ("The column “MODEL.md before its correction” holds runs made as MODEL.md first described the "
                    "trainer: weight decay on the Linear weights only (minGPT's rule) and a new batch order every "
                    "epoch. The course's trainer.py decays every parameter but the biases and keeps the file's "
                    "order; only runs made that way count as faithful, so the verdicts use the column before it, "
                    "and the two columns side by side show what those two lines of optimizer code are worth.")


def _count_text(c: Count | None) -> str:
    return "—" if c is None else c.text()


def expected_runs_table(ctx: Context) -> Table:
    header = ["run", "this project (dev)", BEFORE_CORRECTION, "the sheet", "others: typical",
              "others: range seen", "verdict", "provenance"]
    rows = []
    for e in ctx.model["expected"]:
        recs = e["records"]
        if recs:
            ours = "; ".join(f"{r.name}: {Count(r.dev_correct, r.dev_total).text()}" for r in recs)
            prov = "; ".join(provenance(r) for r in recs)
        else:
            ours, prov = "not yet run", "—"
        before = "; ".join(f"{r.name}: {Count(r.dev_correct, r.dev_total).text()}" for r in e["before"]) or "—"
        prov = "; ".join(x for x in [prov if recs else ""] + [provenance(r) for r in e["before"]] if x) or "—"
        sheet = _count_text(e["sheet"])
        if e["recipe"] == "nearest-name":
            sheet = "“the effect is limited” (no number)"
        elif e["recipe"] == "london":
            sheet = "no number given"
        rows.append([e["label"], ours, before, sheet, e["typical"], e["seen"], e["verdict"] or "—", prov])
    return header, rows


def provenance(r) -> str:
    seed = "" if r.seed is None else f", seed {r.seed}"
    steps = "" if not r.steps else f", {r.steps} steps"
    return f"{r.device_text()}, {duration(r.wall_seconds)}{steps}{seed}, commit {r.commit_text()}"


def other_runs_table(ctx: Context) -> Table:
    header = ["record", "variant, recipe", "configuration", "faithful", "dev accuracy", "provenance", "command"]
    rows = [[r.path, f"{r.variant}, {r.recipe}", r.describe_config(), "yes" if r.faithful else "no",
             Count(r.dev_correct, r.dev_total).text(), provenance(r), r.command or "—"] for r in ctx.model["others"]]
    return header, rows


def commands_table(ctx: Context) -> Table:
    header = ["record", "command"]
    rows = [[r.path, r.command or "—"] for e in ctx.model["expected"] for r in e["records"] + e["before"]]
    return header, rows


def _setting(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def recipe_table(ctx: Context) -> Table:
    header = ["record", "differs from the recipe", "seed", "pretraining epochs", "wall time (budget)",
              "last pretraining epoch's loss", "dev accuracy", "bio completion", "name recall", "provenance"]
    rows = []
    for row in ctx.model["recipe"]["rows"]:
        r = row["record"]
        diff = ", ".join(f"{k} = {_setting(v)}" for k, v in row["diff"].items()) or "— (the recipe as defined)"
        budget = f" ({duration(row['budget'])}{'' if row['within'] else ', OVER'})" if row["budget"] else ""
        loss = "—" if row["loss"] is None else f"{row['loss']:.3f}"
        rows.append([r.path, diff, "—" if r.seed is None else str(r.seed), str(row["epochs"] or "—"),
                     duration(r.wall_seconds) + budget, loss, row["count"].text(), _bio(row["bio"]),
                     _recall(row["recall"], row.get("recital")), provenance(r)])
    return header, rows


RECIPE_NOTE_KEYS = ("pilot_note", "rename_note", "name_recall_note", "recital_note")


def recipe_notes(ctx: Context) -> list[str]:
    """Each distinct note the recipe records carry (RECIPE_NOTE_KEYS), once, with the records it is about."""
    by_note: dict[str, list[str]] = {}
    for row in ctx.model["recipe"]["rows"]:
        for key in RECIPE_NOTE_KEYS:
            note = getattr(row["record"], key)
            if note:
                by_note.setdefault(note, []).append(f"`{row['record'].name}`")
    return [f"{', '.join(names)}: {note.rstrip('.')}." for note, names in by_note.items()]


def attention_entropy_table(ctx: Context) -> Table:
    header = ["checkpoint", "layer", "mean entropy (nats)", "mean largest weight", "largest |logit|",
              "mean |ln1 gain|"]
    rows = []
    for m in ctx.model["entropy"]["models"]:
        info = m.get("checkpoint_info", {})
        name = f"{m['label']} ({m['config']}, {info['steps']} steps)" if "steps" in info else m["label"]
        for i, layer in enumerate(m["layers"]):
            rows.append([name if i == 0 else "", str(layer["layer"]), f"{layer['entropy']:.2f}",
                         f"{layer['max_weight']:.2f}", f"{layer['max_logit']:.0f}",
                         "—" if "ln1_gain" not in layer else f"{layer['ln1_gain']:.2f}"])
    return header, rows


def attention_entropy_text(ctx: Context) -> str:
    e = ctx.model["entropy"]
    lows = "; ".join(f"{m['label']}: {min(l['entropy'] for l in m['layers']):.2f} nats, largest |logit| "
                     f"{max(l['max_logit'] for l in m['layers']):.0f}" for m in e["models"])
    return ("How sharp the trained models' attention is (`python -m models attention-entropy`, "
            f"`report/results/analysis/attention-entropy.json`, {e['examples']} pretraining examples): per layer, the "
            "heads' mean entropy of the attention weights over real query positions (log of the number of visible keys "
            "when uniform, 0 when one-hot), the mean largest weight, and the largest logit q·k/√d. Question 1's limit "
            "of a growing query scale, where attention tends to copying one value, can be reached by training: logits "
            "in the hundreds or thousands make every head attend one-hot (attention entropy collapse), and a model in "
            "that state learns slowly. Lowest layer entropy and largest logit of each checkpoint: " + lows + ". "
            "The checkpoints are not committed (runs/); the record carries every head's numbers and each "
            "checkpoint's provenance.")


BIO_EXPLAINED = ("Bio completion: of the dev people whose wiki.txt line, in the form the model was trained on it "
                 "(as it is, or rewritten to start with the question: `line_form`), shows the answer within its "
                 "first 112 characters, how many lines the final model completes with the answer when fed the line "
                 "up to it (`models.evaluate.bio_completion`): what was memorised, whether or not the question gets "
                 "it out.")


def recall_explained(dev_questions: int | None) -> str:
    """What the name-recall column means; ``dev_questions``: the dev set's size (None: unknown)."""
    people = "the dev people" if dev_questions is None else f"the {dev_questions} dev people"
    return (f"Name recall: of {people}, for how many the final model, fed only the start of the "
            "person's line (\"Where was Name born? \" in question form), writes the answer somewhere in 100 "
            "characters (`models.evaluate.name_recall`), and in brackets how many of those the question itself "
            "answered: what the name alone reaches, and how much of it comes out as an answer. For a "
            "recall-form record (`answer_form`: the model writes the person's sentence, then the answer), "
            "the recital after it: for how many people with the answer in their sentence the model wrote "
            "the sentence exactly, and how many of those it then answered (`models.evaluate.recital`).")


def _recall(probe, recited=None) -> str:
    if not isinstance(probe, dict) or not probe.get("probed"):
        return "—"
    both = f" ({probe['recalled_and_answered']} answered)" if "recalled_and_answered" in probe else ""
    if isinstance(recited, dict) and recited.get("probed"):
        both += (f"; recital {recited['recited']}/{recited['probed']} "
                 f"({recited['recited_and_answered']} answered)")
    return f"{probe['recalled']}/{probe['probed']}{both}"


def _bio(probe) -> str:
    if not isinstance(probe, dict) or not probe.get("probed"):
        return "—"
    return f"{probe['correct']}/{probe['probed']} = {100 * probe['correct'] / probe['probed']:.1f}%"


def _seeds_named(seeds: list) -> str:
    """"seed 1" or "seeds 0, 2": the seeds of a shortfall in the recipe summary."""
    return ("seeds " if len(seeds) > 1 else "seed ") + ", ".join(map(str, seeds))


def recipe_summary(ctx: Context) -> str:
    recipe = ctx.model["recipe"]
    s = recipe["summary"]
    settings = ", ".join(f"{k} = {_setting(v)}" for k, v in recipe["reference"].items())
    if s is None:
        return "No record of the recipe as defined yet; the rows below are candidates."
    accs = ", ".join(f"{c}/{t} = {100 * a:.1f}%" for c, t, a in zip(s["counts"], s["totals"], s["accuracies"]))
    seeds = ", ".join(str(x) for x in s["seeds"])
    missing = []  # each part of the mark not met, in words
    if len(s["seeds"]) < 3:
        missing.append(f"{3 - len(s['seeds'])} more seed{'s' if len(s['seeds']) < 2 else ''}")
    if s["below"]:
        missing.append(f"{_seeds_named(s['below'])} below {recipe['target']}")
    if s["over_budget"]:
        missing.append(f"{_seeds_named(s['over_budget'])} over the time budget")
    if s["apart"] > 2 * recipe["spread"] + 1e-9:  # counts of recipe["of"]; the tolerance absorbs float rounding only
        missing.append(f"the seeds {s['apart']:.4g} of {recipe['of']} apart, more than {2 * recipe['spread']}")
    goal = "does not yet meet" if missing else "meets"
    if len(s["accuracies"]) == 1:
        runs = f"seed {seeds} gives {accs} on the dev set, in {duration(s['walls'][0])} of wall time (one seed so far)"
    else:
        runs = (f"seeds {seeds} give {accs} on the dev set (mean {100 * s['mean']:.1f}%, spread "
                f"{100 * s['spread'][0]:.1f}–{100 * s['spread'][1]:.1f}%), in "
                + ", ".join(duration(w) for w in s["walls"]) + " of wall time")
    return (f"`python -m models recipe cpu-60` ({settings}): {runs}. The recipe {goal} its mark: at least "
            f"{recipe['target']} of {recipe['of']} on each of three seeds, one more than the {recipe['rule']} of a regular "
            "expression reading \"born in X\" from the person's own wiki.txt line, within 60 minutes on 2 CPU cores, "
            f"with the seeds within ±{recipe['spread']} of {recipe['of']} of their midpoint."
            + (f" Not yet met: {'; '.join(missing)}." if missing else ""))
