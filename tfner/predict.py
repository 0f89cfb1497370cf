"""`python -m tfner.predict`: the same command as `tfner predict`."""

import sys

from tfner.serving.predict import main

if __name__ == "__main__":
    sys.exit(main())
