"""The learner's playground: ``vecprop serve`` opens a local page where a network is built on a 2-D
dataset, one mini-batch is stepped through forward and backward with each equation beside its numbers,
gradients are checked, and training runs live — every number computed by vecprop itself.

:mod:`.api` holds the sessions and their JSON answers (no HTTP); :mod:`.server` serves them and the page
(``static/``, shipped in the package) with the standard library. See docs/playground.md.
"""

from __future__ import annotations

from .server import make_server, serve

__all__ = ["make_server", "serve"]
