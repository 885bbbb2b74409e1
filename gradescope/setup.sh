#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (docs/gradescope.md).
# The autograder zip holds this repository's files at its root, unpacked in /autograder/source.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv
python3.11 -m venv /autograder/venv
# derivations/ needs only these (not PyTorch: the models are not used for grading)
/autograder/venv/bin/pip install --quiet "sympy>=1.12" "numpy>=1.26" "scipy>=1.11" "tqdm>=4.66" "lark>=1.1"
/autograder/venv/bin/pip install --quiet --no-deps /autograder/source   # attnlab itself, without PyTorch
cp /autograder/source/gradescope/run_autograder /autograder/run_autograder
chmod +x /autograder/run_autograder
