"""`python -m tfner.export`: the same command as `tfner export`."""

import sys

from tfner.serving.export import main

if __name__ == "__main__":
    sys.exit(main())
