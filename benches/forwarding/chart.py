"""A small SVG bar-chart writer: one panel per figure, one horizontal bar per configuration
(the median), a whisker from the smallest to the largest sample, and the median written out."""

from xml.sax.saxutils import escape

PANEL_WIDTH = 500
LABEL_WIDTH = 250
BAR_HEIGHT = 16
BAR_GAP = 6
PANEL_TOP = 34
COLUMNS = 2
COLOURS = {"kernel": "#7f7f7f", "haproxy": "#b07aa1", "lb": "#4e79a7",
           "lb-xdp-generic": "#59a14f", "lb-xdp-native": "#f28e2b"}


def _nice_max(value):
    """A round upper bound for an axis (1, 2, 2.5, 5 × 10^n) at least `value`."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    while scale > value:
        scale /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _panel(x0, y0, panel, rows):
    """SVG elements of one panel: `panel` = (title, unit, scale, metric key, number format)."""
    title, unit, scale, key, fmt = panel
    parts = [f'<text x="{x0}" y="{y0 + 16}" font-size="13" font-weight="bold">'
             f'{escape(title)} ({escape(unit)})</text>']
    values = [s for r in rows for s in (r["stats"].get(key) or {}).get("samples", [])]
    top = _nice_max(max(values) / scale) if values else 1.0
    plot_x = x0 + LABEL_WIDTH
    plot_w = PANEL_WIDTH - LABEL_WIDTH - 50
    y = y0 + PANEL_TOP
    for row in rows:
        parts.append(f'<text x="{plot_x - 6}" y="{y + BAR_HEIGHT - 4}" font-size="11" '
                     f'text-anchor="end">{escape(row["label"])}</text>')
        stat = row["stats"].get(key)
        if stat is None:
            parts.append(f'<text x="{plot_x + 4}" y="{y + BAR_HEIGHT - 4}" font-size="11" '
                         f'fill="#999">{escape(row["missing"].get(key, "n/a"))}</text>')
        else:
            width = plot_w * stat["median"] / scale / top
            lo = plot_x + plot_w * stat["min"] / scale / top
            hi = plot_x + plot_w * stat["max"] / scale / top
            mid = y + BAR_HEIGHT / 2
            colour = COLOURS.get(row.get("style", row["family"]), "#4e79a7")
            parts.append(f'<rect x="{plot_x}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                         f'fill="{colour}"/>')
            parts.append(f'<line x1="{lo:.1f}" y1="{mid}" x2="{hi:.1f}" y2="{mid}" '
                         f'stroke="#000" stroke-width="1"/>')
            for edge in (lo, hi):
                parts.append(f'<line x1="{edge:.1f}" y1="{mid - 4}" x2="{edge:.1f}" '
                             f'y2="{mid + 4}" stroke="#000" stroke-width="1"/>')
            parts.append(f'<text x="{max(hi, plot_x + width) + 4:.1f}" y="{y + BAR_HEIGHT - 4}" '
                         f'font-size="10">{fmt(stat["median"] / scale)}</text>')
        y += BAR_HEIGHT + BAR_GAP
    axis_y = y + 2
    parts.append(f'<line x1="{plot_x}" y1="{y0 + PANEL_TOP - 4}" x2="{plot_x}" y2="{axis_y}" '
                 f'stroke="#333"/>')
    parts.append(f'<line x1="{plot_x}" y1="{axis_y}" x2="{plot_x + plot_w}" y2="{axis_y}" '
                 f'stroke="#333"/>')
    for i in range(5):
        tick = plot_x + plot_w * i / 4
        parts.append(f'<text x="{tick:.1f}" y="{axis_y + 13}" font-size="10" '
                     f'text-anchor="middle">{top * i / 4:g}</text>')
    return parts


def render(title, subtitle, panels, rows):
    """The whole SVG document: `panels` as in `_panel`, `rows` with label, family, stats, missing."""
    panel_height = PANEL_TOP + len(rows) * (BAR_HEIGHT + BAR_GAP) + 30
    grid_rows = (len(panels) + COLUMNS - 1) // COLUMNS
    width = COLUMNS * PANEL_WIDTH + 20
    height = 50 + grid_rows * panel_height
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
            f'<rect width="{width}" height="{height}" fill="#fff"/>',
            f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>',
            f'<text x="10" y="38" font-size="11" fill="#444">{escape(subtitle)}</text>']
    for index, panel in enumerate(panels):
        x0 = 10 + (index % COLUMNS) * PANEL_WIDTH
        y0 = 46 + (index // COLUMNS) * panel_height
        body.extend(_panel(x0, y0, panel, rows))
    body.append("</svg>")
    return "\n".join(body) + "\n"
