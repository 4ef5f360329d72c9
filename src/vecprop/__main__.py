"""``python -m vecprop``: the command line."""

from .cli import main

raise SystemExit(main())
