"""Quality assurance of recorded calls: replaying a call's own recordings through today's (or
other) engines, scoring transcripts and translations against references, and reporting
each utterance's stages side by side with what happened in the call.

This package reads records and recordings and drives engines through ``hotline.engines``;
it never touches a live call.
"""

from hotline.qa.replay import ReplayOptions, ReplayReport, replay_call
from hotline.qa.scoring import chrf, error_rate, uses_characters, word_diff

__all__ = [
    "ReplayOptions",
    "ReplayReport",
    "chrf",
    "error_rate",
    "replay_call",
    "uses_characters",
    "word_diff",
]
