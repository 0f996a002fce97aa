"""HTML pieces of ``report.html``: sortable tables, key-value tables, numbers with their
intervals, bars, and the removal of local paths from text meant to be mailed."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from .tables import format_number

LOCAL_PATH = re.compile(r"(?<![\w.:])(?:/[^\s/'\"<>]+)+/([^\s/'\"<>]+)")
"""An absolute POSIX path; its last part is kept."""


def esc(text) -> str:
    """``text`` escaped for HTML (attributes too)."""
    return html.escape(str(text), quote=True)


def without_paths(text) -> str:
    """``text`` with every absolute local path replaced by its file or folder name."""
    return LOCAL_PATH.sub(r"\1", str(text))


def with_interval(row, column: str) -> str:
    """``median (lo–hi)`` of the uncertainty ensemble when ``row`` has ``<column>_lo``,
    ``_median`` and ``_hi``, else the value."""
    lo, mid, hi = (row.get(f"{column}_{s}") for s in ("lo", "median", "hi"))
    if lo is None or hi is None or mid is None or not np.isfinite([lo, mid, hi]).all() or \
            hi - lo <= 1e-9 * max(abs(hi), abs(lo)):
        return format_number(row[column])   # no interval, or none to speak of (fixed)
    return f"{format_number(mid)} ({format_number(lo)}–{format_number(hi)})"


def table(frame: pd.DataFrame, columns, titles: dict | None = None, *, bars: str = "",
          table_id: str = "") -> str:
    """A sortable table; numbers right-aligned with their raw value in ``data-v`` and their
    95% interval when the frame has ``<column>_lo``/``_hi``; ``bars``: a column drawn as a
    bar beside its number; ``table_id`` for a search box (:func:`search_box`)."""
    titles = titles or {}
    head = "".join(f'<th title="{esc(titles.get(c, label))}">{esc(label)}</th>'
                   for c, label in columns)
    top = float(np.nanmax(frame[bars])) if bars and len(frame) and bars in frame else 0.0
    rows = []
    for row in frame.to_dict("records"):    # plain dicts: a Series per row costs 10x
        cells = []
        for c, _label in columns:
            value = row[c]
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                text = esc(with_interval(row, c))
                if c == bars and top > 0 and np.isfinite(value):
                    text = (f'<span class="bar" style="width:{60 * value / top:.1f}px">'
                            f"</span> {text}")
                cells.append(f'<td class="n" data-v="{float(value):.6g}">{text}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (f'<div class="scroll"><table class="sortable"{ident}><thead><tr>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></div>')


def search_box(table_id: str, what: str) -> str:
    """A search field that shows only the rows of table ``table_id`` containing its text."""
    return (f'<label>Find {esc(what)}: <input type="search" data-filter="{esc(table_id)}" '
            f'placeholder="type a name or code"></label>')


def kv_table(rows, code: bool = False) -> str:
    """A two-column table of (key, value) rows."""
    wrap = (lambda v: f"<code>{esc(v)}</code>") if code else esc
    body = "".join(f"<tr><th>{esc(k)}</th><td>{wrap(v)}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="kv">{body}</table></div>'
