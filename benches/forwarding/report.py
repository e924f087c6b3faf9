"""The benchmark's outputs: the markdown table, the targets, docs/performance.md and its chart."""

import os

import chart

METRICS = ["pps", "offered", "cps", "rps", "p50", "p99", "lrate"]
BASELINE = "nft"
HAPROXY = "haproxy"


def _find(results, key):
    for entry in results:
        if entry["key"] == key:
            return entry
    return None


def _median(entry, metric):
    if entry is None:
        return None
    stat = entry["stats"].get(metric)
    return stat["median"] if stat else None


def _cell(entry, metric, scale, digits):
    stat = entry["stats"].get(metric)
    if stat is None:
        reason = entry["missing"].get(metric, "n/a")
        return "n/a" if reason == "n/a" else "not measured¹"
    f = f"{{:.{digits}f}}"
    return (f"{f.format(stat['median'] / scale)} "
            f"({f.format(stat['min'] / scale)}–{f.format(stat['max'] / scale)})")


def _ratio(entry, metric, base_entry):
    value, base = _median(entry, metric), _median(base_entry, metric)
    if value is None or not base:
        return "–"
    return f"{value / base:.2f}×"


def table(results):
    """The one markdown table: median (min–max) of each figure, and the ratios."""
    nft = _find(results, BASELINE)
    haproxy = _find(results, HAPROXY)
    head = ("| configuration | UDP Mpps | ×DNAT | new TCP conn/s (k) | ×DNAT "
            "| keep-alive req/s (k) | ×DNAT | ×HAProxy | p50 µs | p99 µs | p99 ×DNAT |")
    lines = [head, "|" + "---|" * 11]
    footnotes = []
    for entry in results:
        cells = [
            entry["label"],
            _cell(entry, "pps", 1e6, 3), _ratio(entry, "pps", nft),
            _cell(entry, "cps", 1e3, 1), _ratio(entry, "cps", nft),
            _cell(entry, "rps", 1e3, 1), _ratio(entry, "rps", nft), _ratio(entry, "rps", haproxy),
            _cell(entry, "p50", 1, 0), _cell(entry, "p99", 1, 0), _ratio(entry, "p99", nft),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        reasons = sorted({r for r in entry["missing"].values() if r != "n/a"})
        for reason in reasons:
            footnotes.append(f"{entry['label']}: {reason}")
    text = "\n".join(lines) + "\n"
    if footnotes:
        text += "\n" + "\n".join(f"¹ {note}  " for note in footnotes) + "\n"
    return text


TARGETS = [
    # (figure, metric, the row it is compared with, factor, higher is better)
    ("UDP packets/s ≥ 1.0× nftables DNAT", "pps", BASELINE, 1.0, True),
    ("new TCP conn/s ≥ 1.0× nftables DNAT", "cps", BASELINE, 1.0, True),
    ("keep-alive req/s ≥ 1.2× HAProxy", "rps", HAPROXY, 1.2, True),
    ("p99 latency ≤ 1.2× nftables DNAT", "p99", BASELINE, 1.2, False),
]


def targets(results):
    """The issue's targets for every lb row: one line per row, one column per target, each
    cell the ratio and whether it is met."""
    lb_rows = [e for e in results if e["family"] == "lb"]
    if not lb_rows:
        return ""
    head = "| lb row | " + " | ".join(name for name, *_ in TARGETS) + " |"
    lines = [head, "|" + "---|" * (len(TARGETS) + 1)]
    for entry in lb_rows:
        cells = []
        for _name, metric, against, factor, higher in TARGETS:
            base = _median(_find(results, against), metric)
            value = _median(entry, metric)
            if not base:
                cells.append(f"no {against} figure in this run")
                continue
            if value is None:
                cells.append("not measured")
                continue
            ratio = value / base
            met = ratio >= factor if higher else ratio <= factor
            cells.append(f"{ratio:.2f}× {'met' if met else '**missed**'}")
        lines.append(f"| {entry['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _samples(results):
    lines = ["| configuration | figure | samples |", "|---|---|---|"]
    names = {"pps": "UDP packets/s delivered", "offered": "UDP packets/s sent by trafgen", "cps": "new conn/s", "rps": "keep-alive req/s",
             "p50": "p50 µs", "p99": "p99 µs", "lrate": "paced req/s"}
    for entry in results:
        if "busy" in entry:
            lines.append(f"| {entry['label']} | CPUs busy just before its setup (other work) | "
                         f"{entry['busy']:.0f}% |")
        for metric in METRICS:
            stat = entry["stats"].get(metric)
            if stat:
                values = ", ".join(f"{v:,.0f}" for v in stat["samples"])
                lines.append(f"| {entry['label']} | {names[metric]} | {values} |")
    return "\n".join(lines) + "\n"


PANELS = [
    ("UDP 64-byte packets delivered", "Mpps", 1e6, "pps", lambda v: f"{v:.3f}"),
    ("New TCP connections", "k/s", 1e3, "cps", lambda v: f"{v:.1f}"),
    ("Keep-alive requests", "k/s", 1e3, "rps", lambda v: f"{v:.1f}"),
    ("Latency p99 at a moderate rate", "µs, lower is better", 1, "p99", lambda v: f"{v:.0f}"),
]


def write_docs(repo, results, meta):
    """Writes docs/performance.md (the tables, how it was measured) and docs/performance.svg."""
    docs = os.path.join(repo, "docs")
    os.makedirs(docs, exist_ok=True)
    subtitle = (f"{meta['date']}, {meta['cpus']} CPUs ({meta['cpu']}), Linux {meta['kernel']}; "
                f"median of {meta['samples']} samples, whiskers min–max")
    svg = chart.render("lb director vs the kernel and HAProxy (benches/forwarding/run)",
                       subtitle, PANELS, results)
    with open(os.path.join(docs, "performance.svg"), "w") as f:
        f.write(svg)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "performance.md.in")) as f:
        text = f.read()
    notes = "\n".join(f"- {n}" for n in meta["notes"]) or "- none"
    lb_status = (f"**The lb rows could not run:** {meta['lb_problem']}."
                 if meta["lb_problem"] else "")
    fields = {
        "DATE": meta["date"],
        "KERNEL": meta["kernel"],
        "CPUS": str(meta["cpus"]),
        "CPU": meta["cpu"],
        "SAMPLES": str(meta["samples"]),
        "SECONDS": f"{meta['seconds']:g}",
        "ELAPSED": f"{meta['elapsed']:.0f}",
        "COMMAND": meta["command"],
        "TABLE": table(results),
        "TARGETS": targets(results) or "(no lb row was run)\n",
        "SAMPLES_TABLE": _samples(results),
        "RUN_NOTES": notes,
        "LB_STATUS": lb_status,
        "WRK_CONNECTIONS": str(meta["wrk_connections"]),
        "LATENCY_CONNECTIONS": str(meta["latency_connections"]),
        "LATENCY_DELAY_MS": str(meta["latency_delay_ms"]),
        "WORKER_PRIORITY": str(meta.get("worker_priority", "")),
    }
    for key, value in fields.items():
        text = text.replace(f"@{key}@", value)
    with open(os.path.join(docs, "performance.md"), "w") as f:
        f.write(text)
