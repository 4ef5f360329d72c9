"""HTML for Jupyter's rich display (``_repr_html_`` of Network and History): standard library only."""

from __future__ import annotations

import base64
from html import escape


def table(header, rows, caption: str = "") -> str:
    """A plain HTML table: ``header`` is a list of column names, ``rows`` a list of lists of cells."""
    head = "".join(f"<th style='text-align:left'>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='text-align:left'><code>{escape(str(c))}</code></td>"
            if i < 2
            else f"<td style='text-align:left'>{escape(str(c))}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    cap = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png(data: bytes, alt: str) -> str:
    """An inline <img> of PNG bytes."""
    return f"<img src='data:image/png;base64,{base64.b64encode(data).decode('ascii')}' alt='{escape(alt)}'/>"
