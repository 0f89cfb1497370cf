"""`python -m tfner.tune`: the same command as `tfner tune`."""

import sys

from tfner.tune.tuner import main

sys.exit(main())
