"""index.html: the report's outline (report.outline) as one self-contained page, one function
per block type (RENDERERS), each returning the block's HTML (empty when there is nothing to show).

No script, no network: the stylesheet is inline, formulas are PNG images typeset at
build time by matplotlib's mathtext and embedded as data URIs, and the figures are the
PNG files in figures/ beside the page. No raw LaTeX appears in the page.
"""
from __future__ import annotations

import base64
import re
from html import escape

from . import outline as o

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


# The HTML page's column widths of a Table by its style (the classes are the stylesheet's).
COLUMNS = {"audit": ("c-id", "c-claim", "c-verdict", "c-evidence", "c-by")}
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _e(text) -> str:
    """Text for an element or an attribute value (quotes escaped too)."""
    return escape(str(text), quote=True)


def _h(text) -> str:
    """A heading's text (quotes kept as they are)."""
    return escape(str(text), quote=False)


def _links(text: str) -> str:
    """Escape ``text``, showing its [text](href) links as links."""
    out, at = [], 0
    for m in LINK.finditer(text):
        out += [escape(text[at:m.start()]), f'<a href="{_e(m[2])}">{escape(m[1])}</a>']
        at = m.end()
    return "".join(out + [escape(text[at:])])


def _inline(text: str) -> str:
    """Escape ``text`` and show its `backticked` parts as code and its [text](href) parts as links."""
    parts = str(text).split("`")
    return "".join(f"<code>{escape(p)}</code>" if k % 2 else _links(p) for k, p in enumerate(parts))


def _text(text: str, code: bool) -> str:
    return _inline(text) if code else _e(text)


def _verdict(v: str) -> str:
    return f'<span class="verdict v-{_e(v)}">{_e(v)}</span>'


def heading(b: o.Heading) -> str:
    anchor = f' id="{_e(b.anchor)}"' if b.anchor else ""
    return f"<h3{anchor}>{_h(b.text)}</h3>"


def paragraph(b: o.Paragraph) -> str:
    style = f' class="{_e(b.style)}"' if b.style else ""
    return f"<p{style}>{_text(b.text if b.html_text is None else b.html_text, b.code)}</p>"


def bullet_list(b: o.BulletList) -> str:
    intro = f"<p>{_inline(b.intro)}</p>" if b.intro else ""
    return intro + "<ul>" + "".join(f"<li>{_text(item, b.code)}</li>" for item in b.items) + "</ul>"


def table(b: o.Table) -> str:
    columns = COLUMNS.get(b.style)
    colgroup = "<colgroup>" + "".join(f'<col class="{c}">' for c in columns) + "</colgroup>" if columns else ""
    out = [f'<table class="{_e(b.style)}">' if b.style else "<table>", colgroup]
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in b.header) + "</tr></thead><tbody>")
    for row in b.rows:
        cells = []
        for k, cell in enumerate(row):
            if k in b.verdict_cols and cell not in ("—", ""):
                cells.append(f"<td>{_verdict(cell)}</td>")
            elif k in b.code_cols:
                cells.append(f'<td class="code">{_e(cell)}</td>')
            elif k == 0 and b.row_anchor:
                cells.append(f'<td class="id" id="{_e(b.row_anchor)}{_e(cell)}">{_e(cell)}</td>')
            elif cell == "not yet run":
                cells.append(f'<td class="notyet">{_e(cell)}</td>')
            else:
                cells.append(f"<td>{_e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def figure(b: o.Figure) -> str:
    f = b.figure
    # embedded as a data URI, so that index.html is one file that can be mailed; figures/ holds the same PNGs
    data = "data:image/png;base64," + base64.b64encode(f.png).decode("ascii")
    return (f'<figure id="{_e(b.anchor)}"><img src="{data}" '
            f'alt="{_e(f.title)}" data-file="{_e(f.file)}"><figcaption><b>{_e(f.title)}.</b> {_inline(f.caption)}'
            f'</figcaption></figure>')


def formula(b: o.Formula) -> str:
    f = b.rendered
    if f.png is None:
        return (f'<span class="formula math-error">formula “{_e(f.name)}” of {_e(b.claim_id)} could not be typeset '
                f'(see REPORT.md)</span>')
    return (f'<span class="formula"><span class="name">{_e(f.name)}</span><img class="math" src="{f.data_uri()}" '
            f'width="{f.width}" height="{f.height}" alt="formula {_e(f.name)} of claim {_e(b.claim_id)}"></span>')


def claim(b: o.Claim) -> str:
    out = [f'<div class="claim"><div class="head"><a href="#{_e(o.CLAIM_ANCHOR)}{_e(b.claim_id)}">{_e(b.claim_id)}</a> '
           f'{_verdict(b.verdict)}</div><p>{_e(b.text)}</p>']
    if b.formulas:
        out.append('<div class="formulas">' + "".join(formula(f) for f in b.formulas) + "</div>")
    return "\n".join(out + ["</div>"])


def unavailable(b: o.Unavailable) -> str:
    # in italics, where code would not stand out: code spans are shown as plain words
    out = [f'<h3>{_h(b.title)}</h3><p class="notyet">{_e(b.text.replace("`", ""))}</p>']
    if b.notes:
        out.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in b.notes) + "</ul>")
    return "\n".join(out)


RENDERERS = {o.Heading: heading, o.Paragraph: paragraph, o.BulletList: bullet_list, o.Table: table,
             o.Figure: figure, o.Formula: formula, o.Claim: claim, o.Unavailable: unavailable}


def block(b: o.Block) -> str:
    """The HTML of one block; TypeError for a type without a renderer."""
    render = RENDERERS.get(type(b))
    if render is None:
        raise TypeError(f"report.render_html has no renderer for {type(b).__name__}")
    return render(b)


def notices(items: tuple[o.Notice, ...]) -> list[str]:
    if not items:
        return []
    return (['<div class="missing">']
            + [f"<h3>{_h(f'{n.title}: {n.qualifier}' if n.qualifier else n.title)}</h3><ul>"
               + "".join(f"<li>{_e(item)}</li>" for item in n.items) + "</ul>" for n in items]
            + ["</div>"])


def render_html(ctx) -> str:
    """index.html's text for the report context ``ctx`` (report.context.Context)."""
    doc = o.build_outline(ctx)
    badges = "".join(f'{_verdict(v)}<span class="small" style="color:#d5e1ee;margin-right:14px">× {n}</span>'
                     for v, n in doc.verdicts)
    nav = "".join(f'<a href="#{_e(s.anchor)}">{_h(s.nav)}</a>' for s in doc.sections)
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(doc.title)}</title>",
        f"<style>{STYLE}</style>", "</head>", "<body>", "<header>", f"<h1>{_e(doc.title)}</h1>",
        "<p>Generated by <code>python -m report</code> from <code>derivations/</code>, <code>simulate/</code>, "
        "<code>models/</code> and the records in <code>report/results/</code>; do not edit by hand. "
        "<code>python -m report --check</code> says whether it is stale. The same content as Markdown: "
        '<a style="color:#bcd6f5" href="REPORT.md">REPORT.md</a>.</p>',
        f"<p>{badges}</p>",
        f"<nav>{nav}</nav>",
        "</header>", "<main>",
    ]
    out += notices(doc.notices)
    for section in doc.sections:
        out.append(f'<section id="{_e(section.anchor)}"><h2>{_h(section.title)}</h2>')
        out += [block(b) for b in section.blocks]
        out.append("</section>")
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(x for x in out if x) + "\n"
