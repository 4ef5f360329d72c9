"""The README's "equations and the code" table points at propagation.py lines a learner can read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(
    r"^\| (?P<label>[^|]+?) \|.*\[`propagation\.(?P<name>\w+)`\]\(src/vecprop/propagation\.py#L(?P<a>\d+)"
    r"(?:-L(?P<b>\d+))?\)",
    re.M,
)


def test_every_propagation_link_lands_on_its_function_or_equation():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = (ROOT / "src/vecprop/propagation.py").read_text(encoding="utf-8").splitlines()
    rows = list(ROW.finditer(readme))
    assert len(rows) >= 8
    for row in rows:
        a, b = int(row["a"]), int(row["b"] or row["a"])
        text = "\n".join(lines[a - 1 : b])
        label = row["label"].strip()
        assert f"def {row['name']}(" in text or label in text, (label, row["name"], a, b, text)
