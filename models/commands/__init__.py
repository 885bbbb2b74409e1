"""The `python -m models` commands, one module each (models.cli registers them in its order).

Each module has `add_parser(sub, add)`, which registers the command's flags and its function
through models.cli's `add(name, help, run)`; `run(args) -> int` returns the exit status (a
user's mistake raises UserError, which models.cli prints as one line, exit status 2).
`pretrain` and `finetune` take typed options instead (`training.TrainingOptions`):
`pretrain.pretrain(options)` and `finetune.finetune(options)`, as the pipeline calls them.
`recipe` and `pipeline` have the same shape and live beside the code they run
(models/recipe.py, models/pipeline.py).
"""
