"""`python -m models sweep RECIPE --study NAME`: a worker of an Optuna study over the recipe's settings.

Each trial is an ordinary recipe run (models.recipe.run) with the settings the sampler chose from
the space file (models.sweep_space), recorded as recipe records are, under the name
`sweep-<study>-trial<N>-seed<S>`; its final dev accuracy (0..1) is the objective, maximised. The
recipe's dev evaluations (every `eval_every` pretraining epochs) are reported to Optuna, whose pruner
(median or threshold, from the space file) may stop the trial there; the trial then says at which epoch
and why, and writes no record.

The study lives in an Optuna RDBStorage: by default the SQLite file runs/sweeps/<study>.sqlite3; any
SQLAlchemy URL (postgresql://user@host/db) lets workers on several machines share one study. Every worker
that opens the same study takes the next trial (Optuna numbers and hands out trials atomically, so no two
workers run the same one) until the study holds `--trials` trials that completed, were pruned or are
running. Each running trial beats a heartbeat; a worker that dies mid-trial (SIGKILL, a lost machine)
leaves a trial whose heartbeat stops, and the next worker to ask for a trial marks it failed
(optuna.storages.fail_stale_trials) and runs it again with the same settings (RetryHeartbeatStaleTrialCallback).
A study remembers its recipe, seed, smoke flag and space: a worker that brings others is refused.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import time
import warnings
from dataclasses import replace
from pathlib import Path

from . import data as D
from .fileio import UserError, shown_path
from .options import positive_int, seed_int
from .recipe import RECIPES, SMOKE, RecipeRun, run
from .results import check_name
from .sweep_space import default_space, load_space

DEFAULT_HEARTBEAT = 60  # seconds between a running trial's heartbeats; stale after twice that
COUNTED = ("COMPLETE", "PRUNED", "RUNNING")  # trial states that use up one of the --trials
OPEN_ATTEMPTS = 4  # tries to open a storage (see open_storage)


class Surplus(Exception):
    """Raised inside a trial that another worker's trial made one too many (both asked at once)."""


def check_study(study: str) -> str:
    """`study`, refused with a UserError unless it can name a record and a file (as check_name asks)."""
    try:
        return check_name(study)
    except UserError:
        raise UserError(f"--study {study!r}: a study's name is letters, digits, '.', '_' or '-'") from None


def default_storage(study: str) -> str:
    """The SQLite URL of a study with no --storage: runs/sweeps/<study>.sqlite3 (open_storage makes its folder)."""
    return f"sqlite:///{D.REPO_ROOT / 'runs' / 'sweeps' / f'{study}.sqlite3'}"


def shown_url(url: str) -> str:
    """`url` with its password hidden, and a SQLite file inside the repository named relative to it."""
    from sqlalchemy.engine import make_url
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read is shown as the user gave it, minus nothing
        return url
    if parsed.get_backend_name() == "sqlite" and parsed.database and Path(parsed.database).is_absolute() \
            and Path(parsed.database).is_relative_to(D.REPO_ROOT):
        return "sqlite:///" + os.path.relpath(parsed.database, D.REPO_ROOT)
    return parsed.render_as_string(hide_password=True)


def quiet_optuna() -> None:
    """Optuna's own log lines off (the worker prints its progress, one line each) and its notes that the
    heartbeat and retry are experimental features: they are what this module is built on."""
    import optuna
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def open_storage(url: str, heartbeat: int):
    """Optuna's RDBStorage at `url` with a heartbeat every `heartbeat` seconds (stale after 2x), whose stale
    trials are failed and retried once with their settings. Raises UserError when the URL, its driver or
    its database cannot be used."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    quiet_optuna()
    sqlite = url.startswith("sqlite")
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":  # a new study's file: its folder first
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # SQLite: wait for a writer's lock instead of failing at once; a server: test pooled connections first
    engine = {"connect_args": {"timeout": 120}} if sqlite else {"pool_pre_ping": True}
    from sqlalchemy.exc import IntegrityError, OperationalError
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            return RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat, grace_period=2 * heartbeat,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
        except ImportError as e:
            raise UserError(f"--storage {shown_url(url)}: its database driver is not installed ({e}); for "
                            "postgresql:// URLs: pip install 'attnlab[postgres]' (psycopg)") from None
        except (IntegrityError, OperationalError) as e:
            # Two workers that open a new database at once both create its tables: the loser's insert fails,
            # and on a second try it finds them made. A server still starting, or a busy file, also passes.
            if attempt < OPEN_ATTEMPTS:
                time.sleep(0.5 * attempt)
                continue
            raise UserError(f"--storage {shown_url(url)}: cannot open the study's storage: {_first_line(e)}") from None
        except Exception as e:  # noqa: BLE001 - SQLAlchemy's and Optuna's other errors: a bad URL, a refused login
            raise UserError(f"--storage {shown_url(url)}: cannot open the study's storage: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def make_pruner(spec: dict):
    """Optuna's pruner for the space file's [pruner] table (models.sweep_space.PRUNER_KEYS)."""
    import optuna
    if spec["kind"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec["startup_trials"], n_warmup_steps=spec["warmup_epochs"])
    if spec["kind"] == "threshold":
        return optuna.pruners.ThresholdPruner(lower=spec["below"])
    return optuna.pruners.NopPruner()


def why_pruned(study, spec: dict, trial_values: dict[int, float], epoch: int) -> str:
    """The pruner's reason in words: the trial's dev accuracy at `epoch` against the pruner's line."""
    value = trial_values[epoch]
    if spec["kind"] == "threshold":
        return f"dev accuracy {value:.3f} is below the threshold pruner's line {spec['below']:.3f}"
    best = max(v for e, v in trial_values.items() if e <= epoch)  # MedianPruner compares the best so far
    import optuna
    others = [t.intermediate_values[epoch] for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
              if epoch in t.intermediate_values]
    median = f"{statistics.median(others):.3f}" if others else "unknown"
    return (f"its best dev accuracy so far, {best:.3f}, is below the median {median} of the {len(others)} "
            f"completed trials at epoch {epoch} (median pruner)")


def _levers_text(params: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _best_text(study) -> str:
    try:
        best = study.best_trial
    except ValueError:
        return "none completed yet"
    return f"{best.value:.3f} (trial {best.number})"


def _study_config(args, space) -> dict:
    """What a study is bound to, in the JSON form it is stored in."""
    return json.loads(json.dumps({"recipe": args.recipe, "smoke": bool(args.smoke), "seed": args.seed,
                                  "space": space.to_dict()}))


def open_study(args, space, storage):
    """Create or join the study `args.study` in `storage` (maximising), refusing one made with another
    recipe, seed, smoke flag or space."""
    import optuna
    study = optuna.create_study(study_name=args.study, storage=storage, direction="maximize",
                                sampler=optuna.samplers.TPESampler(),  # unseeded: two workers must not draw alike
                                pruner=make_pruner(space.pruner), load_if_exists=True)
    config = _study_config(args, space)
    held = study.user_attrs.get("attnlab")
    if held is None:
        study.set_user_attr("attnlab", config)
    elif held != config:
        differs = sorted(k for k in config if config[k] != held.get(k))
        raise UserError(f"study {args.study!r} was made with another {' and '.join(differs)} "
                        f"(it holds {json.dumps({k: held.get(k) for k in differs})}); choose another --study")
    return study


def run_sweep(args) -> int:
    """Take trials of the study until it holds `args.trials` that completed, were pruned or are running."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState
    quiet_optuna()
    check_study(args.study)
    base = RECIPES[args.recipe]
    if args.smoke:
        base = replace(base, **SMOKE)
    space = load_space(args.space or default_space(args.recipe), base)
    url = args.storage or default_storage(args.study)
    study = open_study(args, space, open_storage(url, args.heartbeat))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    work_root = Path(args.work) if args.work else D.REPO_ROOT / "runs" / "sweeps" / args.study
    counted = tuple(TrialState[s] for s in COUNTED)
    print(f"[sweep] worker {worker} joins study {args.study!r} ({shown_url(url)}): {args.trials} trials of "
          f"{args.recipe}{' (smoke)' if args.smoke else ''}, levers {', '.join(lv.name for lv in space.levers)}, "
          f"{space.pruner['kind']} pruner", flush=True)

    surplus: list[int] = []

    def objective(trial) -> float:
        before = [t for t in study.get_trials(deepcopy=False, states=counted) if t.number < trial.number]
        if len(before) >= args.trials:  # another worker asked at the same moment and took the last trial
            trial.set_user_attr("surplus", f"asked at the same time as trial {before[-1].number}, the study's last")
            surplus.append(trial.number)
            raise Surplus
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
        retry_of = RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)
        try:
            recipe = space.apply(base, trial)
        except ValueError as e:
            raise UserError(f"{space.source}: trial {trial.number}'s settings together: {e}") from None
        name = check_name(f"sweep-{args.study}-trial{trial.number}-seed{args.seed}")
        print(f"[sweep] trial {trial.number}" + (f" (again: trial {retry_of} was cut off)" if retry_of is not None else "")
              + f" on {worker}: {_levers_text(trial.params)}; best so far {_best_text(study)}", flush=True)
        values: dict[int, float] = {}

        def on_evaluation(epoch: int, correct: int, total: int) -> None:
            values[epoch] = correct / total
            trial.report(values[epoch], epoch)
            print(f"[sweep] trial {trial.number} epoch {epoch}: {correct}/{total}; best so far {_best_text(study)}",
                  flush=True)
            if epoch < recipe.pretrain_epochs and trial.should_prune():  # the last one is the result: kept
                reason = why_pruned(study, space.pruner, values, epoch)
                trial.set_user_attr("pruned_at_epoch", epoch)
                trial.set_user_attr("pruned_because", reason)
                print(f"[sweep] trial {trial.number} pruned at epoch {epoch}: {reason}", flush=True)
                raise optuna.TrialPruned(f"epoch {epoch}: {reason}")

        sweep = {"study": args.study, "trial": trial.number, "storage": shown_url(url), "worker": worker,
                 "params": trial.params, "space": space.source, "retry_of": retry_of}
        options = RecipeRun(recipe_name=args.recipe, seed=args.seed, name=name,
                            results_dir=Path(args.results_dir) if args.results_dir else None,
                            work=work_root / f"trial{trial.number}", device=args.device, data_dir=args.data_dir,
                            smoke=args.smoke, progress=not args.no_progress, argv=args.argv, sweep=sweep)
        record = run(recipe, options, on_dev=on_evaluation)
        trial.set_user_attr("record", shown_path(options.results_folder() / f"{name}.json"))
        trial.set_user_attr("wall_seconds", record.wall_seconds)
        trial.set_user_attr("within_budget", record.within_budget)
        return record.dev_accuracy

    while True:
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial: failed, and queued again (once)
        if len(study.get_trials(deepcopy=False, states=counted)) >= args.trials:
            break
        study.optimize(objective, n_trials=1, catch=(Surplus,), gc_after_trial=True)
        if surplus:
            break
    trials = [t for t in study.get_trials(deepcopy=False) if "surplus" not in t.user_attrs]
    states = {s: sum(t.state.name == s for t in trials) for s in ("COMPLETE", "PRUNED", "RUNNING", "FAIL")}
    print(f"[sweep] study {args.study!r}: {states['COMPLETE']} completed, {states['PRUNED']} pruned, "
          f"{states['RUNNING']} still running elsewhere, {states['FAIL']} failed; best {_best_text(study)}"
          + (f" with {_levers_text(study.best_trial.params)}" if states["COMPLETE"] else ""), flush=True)
    return 0


def add_parser(sub, add) -> None:
    p = add("sweep", "a worker of an Optuna study over a recipe's settings: each trial a recipe run with the "
                     "levers the sampler chose, its dev accuracy the objective (models/sweep.py)", run_sweep)
    p.add_argument("recipe", choices=sorted(RECIPES), help="the recipe whose settings are swept")
    p.add_argument("--study", required=True, help="study name (letters, digits, '.', '_', '-'); workers that open "
                                                  "the same study in the same storage share its trials")
    p.add_argument("--storage", help="SQLAlchemy URL of the study's database (default sqlite:///runs/sweeps/"
                                     "<study>.sqlite3; postgresql://user@host/db to share it between machines)")
    p.add_argument("--trials", type=positive_int, default=4,
                   help="trials the study should hold, all workers together (default 4)")
    p.add_argument("--space", help="the search space, a TOML file (default models/sweep_spaces/<recipe>.toml; "
                                   "the format: models/sweep_space.py)")
    p.add_argument("--seed", type=seed_int, default=0, help="every trial's recipe seed (default 0)")
    p.add_argument("--smoke", action="store_true", help="the recipe's smoke sizes (seconds a trial), to test")
    p.add_argument("--results-dir", help="folder for the trials' records (default as recipe: runs/results, "
                                         "--smoke: runs/recipe-smoke/results; report/results only when named)")
    p.add_argument("--work", help="folder of the trials' run folders (default runs/sweeps/<study>)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    p.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    p.add_argument("--heartbeat", type=positive_int, default=DEFAULT_HEARTBEAT,
                   help=f"seconds between a running trial's heartbeats (default {DEFAULT_HEARTBEAT}); a trial silent "
                        "for twice that is taken as cut off, failed and run again by the next worker")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
