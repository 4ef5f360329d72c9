"""What the command-line tests share: running ``python -m vecprop`` as a subprocess in a directory."""

import os
import subprocess
import sys


def run(*args, cwd, expect=0):
    """Run ``vecprop ARGS`` in ``cwd``; assert its exit status is ``expect`` and return the process."""
    proc = subprocess.run(
        [sys.executable, "-m", "vecprop", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == expect, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc
