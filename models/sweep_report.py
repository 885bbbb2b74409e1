"""`python -m models sweep-report --study NAME`: a study's trials as a Markdown table, and Optuna's own plots
of it (optuna.visualization.matplotlib: the optimisation history, the parameter importances) as PNG
figures. For a live page while a sweep runs: `optuna-dashboard <storage URL>` (a separate package).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from . import data as D
from .fileio import UserError, atomic_write_text, shown_path


def trial_rows(study) -> list[dict]:
    """One row per trial (a surplus trial, one too many when two workers asked at once, left out): its
    number, state, dev accuracy (the objective; None unless completed), lever values, where it stopped
    (the pruned epoch, else the last reported one), wall seconds and record."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if "surplus" in t.user_attrs:
            continue
        epochs = sorted(t.intermediate_values)
        rows.append({"trial": t.number, "state": t.state.name.lower(), "dev_accuracy": t.value, "params": t.params,
                     "epoch": t.user_attrs.get("pruned_at_epoch", epochs[-1] if epochs else None),
                     "why": t.user_attrs.get("pruned_because", ""), "wall_seconds": t.user_attrs.get("wall_seconds"),
                     "record": t.user_attrs.get("record", "")})
    return rows


def _cell(v) -> str:
    if v is None:
        return "—"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table, one column per lever (in the order the trials first name them)."""
    levers = list(dict.fromkeys(k for r in rows for k in r["params"]))
    head = ["trial", "state", "dev accuracy", *levers, "epoch reached", "wall s", "record / why pruned"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        acc = f"{r['dev_accuracy']:.3f}" if r["dev_accuracy"] is not None else "—"
        note = r["record"] or r["why"]
        lines.append("| " + " | ".join([str(r["trial"]), r["state"], acc, *(_cell(r["params"].get(k)) for k in levers),
                                         _cell(r["epoch"]), _cell(r["wall_seconds"]), note]) + " |")
    return "\n".join(lines) + "\n"


def _png(ax) -> bytes:
    import matplotlib.pyplot as plt
    fig = ax.figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def figures(study) -> tuple[dict[str, bytes], list[str]]:
    """Optuna's history and parameter-importance plots as PNG bytes by file name, and a note for each plot
    that the study cannot give yet (importances need completed trials whose levers differ)."""
    import matplotlib
    matplotlib.use("Agg")
    import optuna
    from optuna.visualization import matplotlib as ovm
    out, notes = {}, []
    for name, plot in (("history.png", ovm.plot_optimization_history), ("importances.png", ovm.plot_param_importances)):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            try:
                ax = plot(study)
                if name == "history.png":
                    ax.set_ylabel("dev accuracy (the objective)")
                out[name] = _png(ax)
            except (ValueError, RuntimeError, ZeroDivisionError) as e:
                notes.append(f"{name}: not drawn: {e}")
        notes += [f"{name}: Optuna says: {w.message}" for w in said
                  if not issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
    return out, notes


def run_sweep_report(args) -> int:
    """Print the study's table; write it and the figures to --out."""
    import optuna
    from .sweep import check_study, default_storage, open_storage, quiet_optuna, shown_url
    quiet_optuna()
    check_study(args.study)
    if not args.storage and not (D.REPO_ROOT / "runs" / "sweeps" / f"{args.study}.sqlite3").is_file():
        raise UserError(f"no study {args.study!r} in runs/sweeps/ (give --storage for one elsewhere)")
    url = args.storage or default_storage(args.study)
    try:
        study = optuna.load_study(study_name=args.study, storage=open_storage(url, heartbeat=60))
    except KeyError:
        raise UserError(f"no study {args.study!r} in {shown_url(url)}") from None
    rows = trial_rows(study)
    table = markdown_table(rows)
    print(table, end="")
    out = Path(args.out) if args.out else D.REPO_ROOT / "runs" / "sweeps" / f"{args.study}-report"
    pictures, notes = figures(study)
    title = f"# Study {args.study} ({shown_url(url)}): {len(rows)} trials\n\n"
    atomic_write_text(out / "trials.md", title + table + "".join(f"\n{n}\n" for n in notes), "sweep table")
    for name, png in pictures.items():
        atomic_write_text(out / name, png, "sweep figure")
    for note in notes:
        print(note)
    print(f"[sweep-report] {shown_path(out)}: trials.md" + "".join(f", {n}" for n in pictures))
    return 0


def add_parser(sub, add) -> None:
    p = add("sweep-report", "a sweep's trials as a table, and Optuna's history and parameter-importance plots "
                            "(live: optuna-dashboard STORAGE_URL)", run_sweep_report)
    p.add_argument("--study", required=True, help="the study's name")
    p.add_argument("--storage", help="SQLAlchemy URL of its database (default sqlite:///runs/sweeps/<study>.sqlite3)")
    p.add_argument("--out", help="folder for trials.md, history.png, importances.png (default runs/sweeps/<study>-report)")
