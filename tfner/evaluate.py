"""`python -m tfner.evaluate`: the same command as `tfner evaluate`."""

import sys

from tfner.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
