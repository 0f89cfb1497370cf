from tfner.model.lora.inject import *  # noqa: F401,F403
from tfner.model.lora.inject import _bump, state_version  # noqa: F401
