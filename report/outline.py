"""The report's outline, built once: `build_outline(ctx)` turns the `Context` into sections of
blocks (headings, paragraphs, lists, tables, figures, claims with their formulas), and
report.render_md and report.render_html only render those blocks, one short function per
block type. What the report says, and in which order, is decided here and nowhere else.

Text in a block is plain text, except where ``code`` is true (the report's own words): there
`backticks` mark code and [text](href) a link, as in Markdown. Text that comes from the data
(claims, records, notes) is shown as it stands (``code=False``).

A block type that a renderer does not handle, a section without a title, an anchor or a
navigation label, and a figure the outline names that the build did not draw are errors
(`OutlineError`, `TypeError`), never a silently shorter report. Adding a section:
docs/architecture.md, "Adding a report section".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import tables
from .context import Context, FigureFile, g, num
from .mathrender import RenderedFormula

TITLE = "Auditing an answer sheet on attention, transformers and pretraining"
VERDICT_ORDER = ("holds", "holds-with-conditions", "fails", "not-checkable", "pending", "missing")
ANCHOR = re.compile(r"[a-z][a-z0-9-]*")
CLAIM_ANCHOR = "claim-"  # the id prefix of a claim's row in the audit table, linked from section 2


class OutlineError(ValueError):
    """An outline declared incompletely: a section without title or anchor, a figure not drawn."""


# ---------------------------------------------------------------------------- the blocks


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section (level 3); ``anchor`` is its id in the HTML page, if any."""
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    """One paragraph. ``style`` is how the HTML page shows it ("small"); Markdown ignores it.
    ``html_text``: the HTML page's own wording, only where the two documents word a paragraph
    differently (same markup as ``text``)."""
    text: str
    code: bool = True
    style: str = ""
    html_text: str | None = None


@dataclass(frozen=True)
class BulletList:
    """A bulleted list, with an optional lead-in line (the report's words, always ``code``);
    ``code`` is about the items."""
    items: tuple[str, ...]
    intro: str = ""
    code: bool = False


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells (report.tables). Column indices: ``code_cols`` shown in a
    monospace font, ``verdict_cols`` as verdict badges; ``row_anchor`` gives each row's first
    cell the id ``row_anchor + cell`` (claims are linked to their audit row); ``style`` names
    the HTML page's column widths (report.render_html.COLUMNS)."""
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    code_cols: tuple[int, ...] = ()
    verdict_cols: tuple[int, ...] = ()
    row_anchor: str = ""
    style: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure the build drew (figures/<name>.png), with its title and caption (``code`` markup)."""
    figure: FigureFile

    @property
    def anchor(self) -> str:
        return self.figure.file.split("/")[-1].removesuffix(".png")


@dataclass(frozen=True)
class Formula:
    """One formula of a claim: LaTeX for Markdown, a PNG (or why there is none) for HTML."""
    claim_id: str
    rendered: RenderedFormula


@dataclass(frozen=True)
class Claim:
    """A claim of the sheet in section 2: its verdict, the correct answer (or the evidence) as
    data text, and its formulas; linked to its row of the audit table."""
    claim_id: str
    verdict: str
    text: str
    formulas: tuple[Formula, ...] = ()


@dataclass(frozen=True)
class Unavailable:
    """A part of the report whose inputs are not there yet: its heading, why (``code`` markup;
    the HTML page shows it in italics, code spans as plain words), and notes (data text)."""
    title: str
    text: str
    notes: tuple[str, ...] = ()


Block = Heading | Paragraph | BulletList | Table | Figure | Formula | Claim | Unavailable
BLOCK_TYPES = Block.__args__


@dataclass(frozen=True)
class Notice:
    """A list shown before the sections (what is missing, what could not be shown);
    ``qualifier`` is said after the title: "Missing (shown as missing, never invented)"."""
    title: str
    items: tuple[str, ...]
    qualifier: str = ""


@dataclass(frozen=True)
class Section:
    """A numbered section: its title, its anchor (the HTML id, linked from the page's
    navigation), its short navigation label, and its blocks."""
    title: str
    anchor: str
    nav: str
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise OutlineError(f"a report section (anchor {self.anchor!r}) has no title")
        if not ANCHOR.fullmatch(self.anchor):
            raise OutlineError(f"report section {self.title!r}: anchor {self.anchor!r} is not a lower-case id "
                               "(letters, digits, '-')")
        if not self.nav.strip():
            raise OutlineError(f"report section {self.title!r} has no navigation label")
        for block in self.blocks:
            if not isinstance(block, BLOCK_TYPES):
                raise TypeError(f"report section {self.title!r}: {type(block).__name__} is not an outline block")


@dataclass(frozen=True)
class Outline:
    """The whole report: its title, the verdict counts in VERDICT_ORDER, the notices, the sections."""
    title: str
    verdicts: tuple[tuple[str, int], ...]
    notices: tuple[Notice, ...] = ()
    sections: tuple[Section, ...] = ()

    def __post_init__(self) -> None:
        anchors = [s.anchor for s in self.sections]
        doubled = sorted({a for a in anchors if anchors.count(a) > 1})
        if doubled:
            raise OutlineError(f"report sections share the anchor(s) {', '.join(doubled)}")


# ---------------------------------------------------------------------------- building it


def _figure(ctx: Context, file: str) -> Figure:
    found = ctx.figure(file)
    if found is None:
        raise OutlineError(f"the report's outline names {file}, which the build did not draw")
    return Figure(found)


def _table(table: tables.Table, **how) -> Table:
    header, rows = table
    return Table(tuple(header), tuple(tuple(r) for r in rows), **how)


def _dev_set(ctx: Context) -> str:
    return "the dev set" if ctx.dev_questions is None else f"the dev set ({ctx.dev_questions} questions)"


def audit_section(ctx: Context) -> Section:
    blocks: list[Block] = [Paragraph(tables.INTRO)]
    if ctx.ids_note:
        blocks.append(Paragraph(ctx.ids_note, code=False, style="small"))
    blocks.append(_table(tables.audit_table(ctx), code_cols=(4,), verdict_cols=(2,), row_anchor=CLAIM_ANCHOR,
                         style="audit"))
    return Section("1. The audit", "audit", "1. The audit", tuple(blocks))


def answers_section(ctx: Context) -> Section:
    blocks: list[Block] = []
    for key, title, claims in ctx.questions:
        blocks.append(Heading(title, anchor=f"q-{key}"))
        blocks += [Claim(c["id"], c["verdict"], c["answer"] or c["evidence"],
                         tuple(Formula(c["id"], f) for f in c["formulas"])) for c in claims]
    return Section("2. The correct answers, question by question", "answers", "2. Correct answers", tuple(blocks))


def simulations_section(ctx: Context) -> Section:
    sim = ctx.simulations
    lead = (f"Monte Carlo with `simulate/` (exact logit sampler, {sim['samples']} samples a point, seed "
            f"{sim['seed']}) against the quadrature of the `derivations/` formulas, n = {sim['n']} keys in "
            f"d = {sim['d']}, values drawn N(0, I/d), iso_var → 0. Of the {sim['coverage'][1]} estimates "
            f"({sim['points']} points × 3 quantities), {sim['coverage'][0]} have the quadrature value inside "
            f"their 95% interval; the largest |z| is {g(sim['max_z'])}. ")
    points, curves = "[data/sim_points.csv](data/sim_points.csv)", "[data/sim_curves.csv](data/sim_curves.csv)"
    blocks: list[Block] = [
        Paragraph(lead + f"Every point is in {points}, the curves in {curves}.",
                  html_text=lead + f"Every point: {points}; the curves: {curves}."),
        Paragraph(f"At β = {num(sim['beta'])}, Var[η] = {num(sim['eta_var'])}:"),
        _table(tables.key_numbers_table(ctx)),
    ]
    blocks += [_figure(ctx, file) for file in sim["figures"]]
    return Section("3. Simulations: the variance of c when key a's length varies", "simulations",
                   "3. Simulations", tuple(blocks))


def model_section(ctx: Context) -> Section:
    model = ctx.model
    blocks: list[Block] = [Heading(f"Results on {_dev_set(ctx)}"),
                           _table(tables.expected_runs_table(ctx), verdict_cols=(6,)),
                           Paragraph(tables.BEFORE_EXPLAINED)]
    if model["others"]:
        blocks += [Paragraph("Other recorded runs (options and experiments beside the faithful configuration):"),
                   _table(tables.other_runs_table(ctx), code_cols=(0, 6))]
    commands = tables.commands_table(ctx)
    if commands[1]:
        blocks += [Paragraph("Commands of the runs above:"), _table(commands, code_cols=(0, 1))]
    blocks.append(BulletList(tuple(ctx.rules), intro="How an accuracy claim is decided (`report/verdicts.py`):"))
    blocks.append(_figure(ctx, "figures/model_accuracy.png"))
    if ctx.figure("figures/model_loss.png"):
        blocks.append(_figure(ctx, "figures/model_loss.png"))
        if ctx.figure("figures/model_pretrain_options.png"):
            blocks.append(_figure(ctx, "figures/model_pretrain_options.png"))
    else:
        blocks.append(Unavailable("Training loss", "Not yet available: no metrics log is committed under "
                                  "`report/results/metrics/`.", tuple(model["log_notes"])))
    if model["entropy"]:
        blocks += [Heading("Attention entropy of pretrained models"), Paragraph(tables.attention_entropy_text(ctx)),
                   _table(tables.attention_entropy_table(ctx))]
    if model["recipe"]:
        blocks += [Heading("A recipe for 2 CPU cores and 60 minutes"), Paragraph(tables.recipe_summary(ctx)),
                   Paragraph("Candidates and seeds, each a record of `python -m models recipe` (not faithful to "
                             f"MODEL.md). {tables.BIO_EXPLAINED} {tables.recall_explained(ctx.dev_questions)}"),
                   _table(tables.recipe_table(ctx), code_cols=(0,))]
        notes = tables.recipe_notes(ctx)
        if notes:
            blocks.append(BulletList(tuple(notes), code=True))
        if ctx.figure("figures/model_recipe.png"):  # drawn only when the records carry accuracy curves
            blocks.append(_figure(ctx, "figures/model_recipe.png"))
    blocks += [_figure(ctx, "figures/model_receptive_field.png"), _figure(ctx, "figures/model_complexity.png")]
    return Section("4. The model", "model", "4. The model", tuple(blocks))


SECTIONS = (audit_section, answers_section, simulations_section, model_section)


def build_outline(ctx: Context) -> Outline:
    """The report of ``ctx``: its notices and its sections, in order (SECTIONS).

    Raises OutlineError when a section is declared incompletely or names a figure that
    ``ctx.figures`` lacks."""
    notices = []
    if ctx.missing:
        notices.append(Notice("Missing", tuple(ctx.missing), qualifier="shown as missing, never invented"))
    if ctx.formula_errors:
        notices.append(Notice("Formulas that could not be shown", tuple(ctx.formula_errors)))
    verdicts = tuple((v, ctx.counts[v]) for v in VERDICT_ORDER if ctx.counts.get(v))
    unknown = set(ctx.counts) - set(VERDICT_ORDER)
    if unknown:
        raise OutlineError(f"verdict(s) {', '.join(sorted(unknown))} not in report.outline.VERDICT_ORDER")
    return Outline(TITLE, verdicts, tuple(notices), tuple(section(ctx) for section in SECTIONS))
