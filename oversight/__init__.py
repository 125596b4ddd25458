"""Oversight dashboard library for the Moscow Oblast State Housing Inspectorate.

Only `oversight.ui` imports streamlit; everything else is testable without a browser.
"""

__version__ = "0.1.0"
