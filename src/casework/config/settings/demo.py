"""Demo and development: the embedded defaults, the public demo secret allowed."""

from casework.config.settings.base import *  # noqa: F403

CASEWORK_MODE = "demo"
