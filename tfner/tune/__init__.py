from tfner.tune.tuner import *  # noqa: F401,F403
