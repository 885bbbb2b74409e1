"""index.html: the report as one self-contained page.

No script, no network: the stylesheet is inline, formulas are PNG images typeset at
build time by matplotlib's mathtext and embedded as data URIs, and the figures are the
PNG files in figures/ beside the page. No raw LaTeX appears in the page.
"""
from __future__ import annotations

import base64
from html import escape

from . import tables
from .context import Context, g, num

STYLE = """
:root { --fg: #1d1f21; --muted: #5c6370; --line: #d7dbe0; --bg-alt: #f6f8fa; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 15px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; }
header { background: #14304f; color: #fff; padding: 22px 32px 16px; }
header h1 { margin: 0 0 6px; font-size: 26px; font-weight: 600; }
header p { margin: 4px 0; color: #d5e1ee; max-width: 70em; }
header code { color: #fff; background: rgba(255, 255, 255, 0.16); }
nav { margin-top: 10px; font-size: 14px; }
nav a { color: #bcd6f5; margin-right: 16px; }
main { padding: 8px 32px 48px; max-width: 1400px; }
h2 { margin-top: 36px; border-bottom: 2px solid var(--line); padding-bottom: 4px; font-size: 22px; }
h3 { margin-top: 26px; font-size: 18px; }
p, li { max-width: 72em; }
code { font: 13px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: var(--bg-alt);
       padding: 0 3px; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: 10px 0 18px; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 5px 8px; vertical-align: top; text-align: left; }
th { background: var(--bg-alt); font-weight: 600; }
tr:nth-child(even) td { background: #fbfcfd; }
td.id { font-weight: 600; overflow-wrap: anywhere; }
td.code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.audit col.c-id { width: 10.5%; } .audit col.c-claim { width: 21%; } .audit col.c-verdict { width: 12%; }
.audit col.c-evidence { width: 39.5%; } .audit col.c-by { width: 17%; }
td .verdict { white-space: normal; }
.audit { table-layout: fixed; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12.5px; font-weight: 600;
           white-space: nowrap; border: 1px solid transparent; }
.v-holds { background: #e3f4e6; color: #176b2c; border-color: #9fd3aa; }
.v-holds-with-conditions { background: #fff4d6; color: #7a5a00; border-color: #e8cf7c; }
.v-fails { background: #fde4e4; color: #a11d1d; border-color: #f0a5a5; }
.v-not-checkable { background: #eceef1; color: #4b5361; border-color: #cdd2d9; }
.v-pending, .v-missing { background: #e4eefc; color: #1f4f8f; border-color: #a9c4ea; }
header .verdict { margin-right: 6px; }
.missing { background: #fff8e6; border: 1px solid #ecd9a0; border-radius: 6px; padding: 8px 16px; margin: 16px 0; }
.missing h3 { margin: 4px 0; font-size: 15px; }
.missing ul { margin: 4px 0; padding-left: 20px; font-size: 14px; }
.notyet { color: #1f4f8f; font-style: italic; }
.claim { border-left: 3px solid var(--line); padding: 2px 0 2px 14px; margin: 14px 0; }
.claim .head { font-weight: 600; }
.formulas { margin: 6px 0 4px; }
.formula { display: block; margin: 6px 0; }
img.math { display: inline-block; vertical-align: middle; }
.formula .name { display: inline-block; min-width: 13em; color: var(--muted); font-size: 12.5px; }
.math-error { color: #a11d1d; }
figure { margin: 16px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: #333; font-size: 14px; margin-top: 6px; max-width: 72em; }
figcaption b { color: var(--fg); }
.small { color: var(--muted); font-size: 13px; }
"""


def _e(text) -> str:
    return escape(str(text), quote=True)


def _inline(text: str) -> str:
    """Escape ``text`` and show its `backticked` parts as code."""
    parts = str(text).split("`")
    return "".join(f"<code>{escape(p)}</code>" if k % 2 else escape(p) for k, p in enumerate(parts))


def _verdict(v: str) -> str:
    return f'<span class="verdict v-{_e(v)}">{_e(v)}</span>'


def _table(table: tables.Table, cls: str = "", code_cols: tuple[int, ...] = (), verdict_cols: tuple[int, ...] = (),
           colgroup: str = "") -> str:
    header, rows = table
    out = [f'<table class="{cls}">' if cls else "<table>", colgroup]
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for row in rows:
        cells = []
        for k, cell in enumerate(row):
            if k in verdict_cols and cell not in ("—", ""):
                cells.append(f"<td>{_verdict(cell)}</td>")
            elif k in code_cols:
                cells.append(f'<td class="code">{_e(cell)}</td>')
            elif k == 0 and cls == "audit":
                cells.append(f'<td class="id" id="claim-{_e(cell)}">{_e(cell)}</td>')
            elif cell == "not yet run":
                cells.append(f'<td class="notyet">{_e(cell)}</td>')
            else:
                cells.append(f"<td>{_e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _figure(ctx: Context, file: str) -> str:
    f = ctx.figure(file)
    if f is None:
        return ""
    # embedded as a data URI, so that index.html is one file that can be mailed; figures/ holds the same PNGs
    data = "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")
    return (f'<figure id="{_e(file.split("/")[-1].removesuffix(".png"))}"><img src="{data}" '
            f'alt="{_e(f.title)}" data-file="{_e(f.file)}"><figcaption><b>{_e(f.title)}.</b> {_inline(f.caption)}'
            f'</figcaption></figure>')


def _formula(claim_id: str, f) -> str:
    if f.png is None:
        return (f'<span class="formula math-error">formula “{_e(f.name)}” of {_e(claim_id)} could not be typeset '
                f'(see REPORT.md)</span>')
    return (f'<span class="formula"><span class="name">{_e(f.name)}</span><img class="math" src="{f.data_uri()}" '
            f'width="{f.width}" height="{f.height}" alt="formula {_e(f.name)} of claim {_e(claim_id)}"></span>')


def render_html(ctx: Context) -> str:
    title = "Auditing an answer sheet on attention, transformers and pretraining"
    badges = "".join(f'{_verdict(v)}<span class="small" style="color:#d5e1ee;margin-right:14px">× {n}</span>'
                     for v, n in sorted(ctx.counts.items(), key=lambda kv: ["holds", "holds-with-conditions", "fails",
                                                                             "not-checkable", "pending",
                                                                             "missing"].index(kv[0])))
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(title)}</title>",
        f"<style>{STYLE}</style>", "</head>", "<body>", "<header>", f"<h1>{_e(title)}</h1>",
        "<p>Generated by <code>python -m report</code> from <code>derivations/</code>, <code>simulate/</code>, "
        "<code>models/</code> and the records in <code>report/results/</code>; do not edit by hand. "
        "<code>python -m report --check</code> says whether it is stale. The same content as Markdown: "
        '<a style="color:#bcd6f5" href="REPORT.md">REPORT.md</a>.</p>',
        f"<p>{badges}</p>",
        '<nav><a href="#audit">1. The audit</a><a href="#answers">2. Correct answers</a>'
        '<a href="#simulations">3. Simulations</a><a href="#model">4. The model</a></nav>',
        "</header>", "<main>",
    ]
    if ctx.missing or ctx.formula_errors:
        out.append('<div class="missing">')
        if ctx.missing:
            out.append("<h3>Missing: shown as missing, never invented</h3><ul>"
                       + "".join(f"<li>{_e(m)}</li>" for m in ctx.missing) + "</ul>")
        if ctx.formula_errors:
            out.append("<h3>Formulas that could not be shown</h3><ul>"
                       + "".join(f"<li>{_e(m)}</li>" for m in ctx.formula_errors) + "</ul>")
        out.append("</div>")

    out += ['<section id="audit"><h2>1. The audit</h2>', f"<p>{_inline(tables.INTRO)}</p>"]
    if ctx.ids_note:
        out.append(f'<p class="small">{_e(ctx.ids_note)}</p>')
    colgroup = ('<colgroup><col class="c-id"><col class="c-claim"><col class="c-verdict"><col class="c-evidence">'
                '<col class="c-by"></colgroup>')
    out += [_table(tables.audit_table(ctx), cls="audit", code_cols=(4,), verdict_cols=(2,), colgroup=colgroup),
            "</section>"]

    out.append('<section id="answers"><h2>2. The correct answers, question by question</h2>')
    for key, title, claims in ctx.questions:
        out.append(f'<h3 id="q-{_e(key)}">{_e(title)}</h3>')
        for c in claims:
            body = c["answer"] or c["evidence"]
            out.append(f'<div class="claim"><div class="head"><a href="#claim-{_e(c["id"])}">{_e(c["id"])}</a> '
                       f'{_verdict(c["verdict"])}</div><p>{_e(body)}</p>')
            if c["formulas"]:
                out.append('<div class="formulas">' + "".join(_formula(c["id"], f) for f in c["formulas"]) + "</div>")
            out.append("</div>")
    out.append("</section>")

    sim = ctx.simulations
    out += [
        '<section id="simulations"><h2>3. Simulations: the variance of c when key a\'s length varies</h2>',
        f"<p>Monte Carlo with <code>simulate/</code> (exact logit sampler, {sim['samples']} samples a point, seed "
        f"{sim['seed']}) against the quadrature of the <code>derivations/</code> formulas, n = {sim['n']} keys in "
        f"d = {sim['d']}, values drawn N(0, I/d), iso_var → 0. Of the {sim['coverage'][1]} estimates "
        f"({sim['points']} points × 3 quantities), {sim['coverage'][0]} have the quadrature value inside their "
        f"95% interval; the largest |z| is {_e(g(sim['max_z']))}. Every point: "
        '<a href="data/sim_points.csv">data/sim_points.csv</a>; the curves: '
        '<a href="data/sim_curves.csv">data/sim_curves.csv</a>.</p>',
        f"<p>At β = {_e(num(sim['beta']))}, Var[η] = {_e(num(sim['eta_var']))}:</p>",
        _table(tables.key_numbers_table(ctx)),
    ]
    out += [_figure(ctx, f) for f in sim["figures"]]
    out.append("</section>")

    out += ['<section id="model"><h2>4. The model</h2>', "<h3>Results on the dev set (500 questions)</h3>",
            _table(tables.expected_runs_table(ctx), verdict_cols=(6,)), f"<p>{_e(tables.BEFORE_EXPLAINED)}</p>"]
    if ctx.model["others"]:
        out += ["<p>Other recorded runs (options and experiments beside the faithful configuration):</p>",
                _table(tables.other_runs_table(ctx), code_cols=(0, 6))]
    cmds = tables.commands_table(ctx)
    if cmds[1]:
        out += ["<p>Commands of the runs above:</p>", _table(cmds, code_cols=(0, 1))]
    out += ["<p>How an accuracy claim is decided (<code>report/verdicts.py</code>):</p><ul>"
            + "".join(f"<li>{_e(r)}</li>" for r in ctx.rules) + "</ul>"]
    out.append(_figure(ctx, "figures/model_accuracy.png"))
    if ctx.figure("figures/model_loss.png"):
        out.append(_figure(ctx, "figures/model_loss.png"))
        if ctx.figure("figures/model_pretrain_options.png"):
            out.append(_figure(ctx, "figures/model_pretrain_options.png"))
    if not ctx.figure("figures/model_loss.png"):
        out.append('<h3>Training loss</h3><p class="notyet">Not yet available: no metrics log is committed under '
                   "report/results/metrics/.</p>")
        if ctx.model["log_notes"]:
            out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in ctx.model["log_notes"]) + "</ul>")
    if ctx.model["entropy"]:
        out += ["<h3>Attention entropy of pretrained models</h3>", f"<p>{_inline(tables.attention_entropy_text(ctx))}</p>",
                _table(tables.attention_entropy_table(ctx), code_cols=())]
    if ctx.model["recipe"]:
        notes = tables.recipe_notes(ctx)
        out += ["<h3>A recipe for 2 CPU cores and 60 minutes</h3>", f"<p>{_inline(tables.recipe_summary(ctx))}</p>",
                "<p>Candidates and seeds, each a record of <code>python -m models recipe</code> (not faithful to "
                f"MODEL.md). {_inline(tables.BIO_EXPLAINED)} {_inline(tables.RECALL_EXPLAINED)}</p>",
                _table(tables.recipe_table(ctx), code_cols=(0,)),
                "<ul>" + "".join(f"<li>{_inline(n)}</li>" for n in notes) + "</ul>" if notes else "",
                _figure(ctx, "figures/model_recipe.png")]
    out.append(_figure(ctx, "figures/model_receptive_field.png"))
    out.append(_figure(ctx, "figures/model_complexity.png"))
    out += ["</section>", "</main>", "</body>", "</html>"]
    return "\n".join(x for x in out if x) + "\n"
