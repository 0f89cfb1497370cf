"""`python -m tfner.calibrate`: the same command as `tfner calibrate`."""

import sys

from tfner.evaluation.calibrate import main

if __name__ == "__main__":
    sys.exit(main())
