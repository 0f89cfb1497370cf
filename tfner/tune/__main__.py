"""`python -m tfner.tune`: the same command as `tfner tune`."""

import sys

from tfner.tune.cli import main

sys.exit(main())
