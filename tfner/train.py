"""`python -m tfner.train`: the same command as `tfner train`."""

import sys

from tfner.training.train import main

if __name__ == "__main__":
    sys.exit(main())
