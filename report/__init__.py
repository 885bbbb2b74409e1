"""report package of attnlab: `python -m report` builds REPORT.md and index.html.

- build.py       collects the audit (derivations), the simulations (simulate), the model
                 results (report/results/*.json, written by models) into one context, and
                 generates every file's bytes; `stale` compares them with the files on disk.
- verdicts.py    decides Q2d, Q2f, Q2g.i and Q3c from the recorded results (the rule is in RULES).
- results.py     reads and validates the result records and metrics logs.
- mathrender.py  SymPy → LaTeX (Markdown) and → PNG by matplotlib's mathtext (HTML).
- plots.py       the model figures; tables.py the tables' text cells.
- outline.py     the report's sections and blocks, built once from the context.
- render_md.py, render_html.py   the two documents: each renders the outline's blocks.
"""
