"""`python -m tfner.deid`: the same command as `tfner deid`."""

import sys

from tfner.deid.cli import main

sys.exit(main())
