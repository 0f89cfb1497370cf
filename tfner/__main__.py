"""`python -m tfner COMMAND ...`: the `tfner` command."""

import sys

from tfner.cli import main

sys.exit(main())
