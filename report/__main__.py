"""`python -m report`: see report.cli."""
import sys

from .cli import main

sys.exit(main())
