"""Test-suite settings: property tests draw the same examples on every run, so CI is reproducible.

Set VECPROP_HYPOTHESIS=random to explore new examples locally.
"""

import os

from hypothesis import settings

settings.register_profile("reproducible", derandomize=True, database=None, print_blob=True)
settings.register_profile("random", print_blob=True)
settings.load_profile("random" if os.environ.get("VECPROP_HYPOTHESIS") == "random" else "reproducible")
