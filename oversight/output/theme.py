"""One place for colours and the plotly look: named colours for good and bad news."""

from __future__ import annotations

PRIMARY = "#1f4e79"
GOOD = "#2e7d32"
BAD = "#c62828"
WARN = "#ef6c00"
NEUTRAL = "#607d8b"
GOOD_BG = "#d7f0d8"
BAD_BG = "#f8d4d4"
WARN_BG = "#fde9c8"
FONT = "Arial, Helvetica, sans-serif"  # a system font: no web font is fetched
# How far below the on-time target (in share points) a rate turns red rather than amber.
RED_MARGIN = 0.05
