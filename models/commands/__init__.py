"""The `python -m models` commands, one module each (models.cli registers them in its order).

Each module has `run(args) -> int` (the exit status; a user's mistake raises UserError, which
models.cli prints as one line and exit 2) and `add_parser(sub, add)`, which registers the
command's flags through models.cli's `add(name, help, run)`. `pretrain` and `finetune` also
take typed options (`training.TrainingOptions`): `pretrain.pretrain(options)` and
`finetune.finetune(options)`, as the pipeline calls them. `recipe` and `pipeline` have the same
shape and live beside the code they run (models/recipe.py, models/pipeline.py).
"""
