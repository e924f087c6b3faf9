//! The SVG plot of a generated workload: for each scheduler, the share of connections each
//! server received (bars, with the weight-proportional ideal marked) and the number of open
//! connections per server over time (lines).

use std::fmt::Write;

use super::workload::SchedulerRun;

const COLORS: &[&str] = &[
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const ROW_H: f64 = 120.0;
const BAR_W: f64 = 260.0;
const LINE_W: f64 = 520.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 50.0;
const GAP: f64 = 60.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the runs as one SVG document.
pub fn render(title: &str, runs: &[SchedulerRun]) -> String {
    let width = LEFT + BAR_W + GAP + LINE_W + 160.0;
    let height = TOP + runs.len() as f64 * (ROW_H + 30.0) + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="38">share of connections per server (grey tick: weight-proportional share)</text>"#
    );
    let lx = LEFT + BAR_W + GAP;
    let _ = writeln!(
        s,
        r#"<text x="{lx}" y="38">open connections per server over time</text>"#
    );
    let peak = runs
        .iter()
        .flat_map(|r| r.series.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let t_end = runs
        .iter()
        .filter_map(|r| r.times.last())
        .fold(0.0f64, |a, &b| a.max(b))
        .max(f64::MIN_POSITIVE);
    for (row, r) in runs.iter().enumerate() {
        let y0 = TOP + row as f64 * (ROW_H + 30.0);
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-weight="bold">{}</text>"#,
            y0 + ROW_H / 2.0,
            esc(&r.scheduler)
        );
        // Bars.
        let total: u64 = r.servers.iter().map(|x| x.conns).sum();
        let wsum: u64 = r.servers.iter().map(|x| x.weight as u64).sum();
        let n = r.servers.len().max(1) as f64;
        let bw = BAR_W / n;
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{y0}" width="{BAR_W}" height="{ROW_H}" fill="none" stroke="#ccc"/>"##
        );
        for (i, srv) in r.servers.iter().enumerate() {
            let share = if total > 0 {
                srv.conns as f64 / total as f64
            } else {
                0.0
            };
            let h = share * ROW_H;
            let x = LEFT + i as f64 * bw + 2.0;
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {} conns ({:.1}%)</title></rect>"#,
                y0 + ROW_H - h,
                bw - 4.0,
                COLORS[i % COLORS.len()],
                srv.addr,
                srv.conns,
                share * 100.0
            );
            if wsum > 0 {
                let ideal = srv.weight as f64 / wsum as f64 * ROW_H;
                let _ = writeln!(
                    s,
                    r##"<line x1="{x:.1}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#555" stroke-width="2"/>"##,
                    x + bw - 4.0,
                    yy = y0 + ROW_H - ideal
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{:.0}%</text>"#,
                x + (bw - 4.0) / 2.0,
                y0 + ROW_H + 12.0,
                share * 100.0
            );
        }
        // Lines.
        let _ = writeln!(
            s,
            r##"<rect x="{lx}" y="{y0}" width="{LINE_W}" height="{ROW_H}" fill="none" stroke="#ccc"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            lx - 4.0,
            y0 + 10.0,
            peak
        );
        for i in 0..r.servers.len() {
            let pts: Vec<String> = r
                .times
                .iter()
                .zip(&r.series)
                .map(|(t, v)| {
                    format!(
                        "{:.1},{:.1}",
                        lx + t / t_end * LINE_W,
                        y0 + ROW_H - v.get(i).copied().unwrap_or(0) as f64 / peak * ROW_H
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
                COLORS[i % COLORS.len()],
                pts.join(" ")
            );
        }
    }
    // Legend.
    if let Some(r) = runs.first() {
        let x = lx + LINE_W + 15.0;
        for (i, srv) in r.servers.iter().enumerate() {
            let y = TOP + 10.0 + i as f64 * 16.0;
            let _ = writeln!(
                s,
                r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{} w{}</text>"#,
                y - 9.0,
                COLORS[i % COLORS.len()],
                x + 14.0,
                y,
                srv.addr,
                srv.weight
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{lx}" y="{}">time 0 … {t_end:.0} s</text>"#,
            height - 15.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::workload::{run, WorkloadSpec};

    #[test]
    fn svg_has_one_panel_per_scheduler_and_a_line_per_server() {
        let spec = WorkloadSpec {
            schedulers: vec!["rr".into(), "wlc".into()],
            weights: vec![1, 1, 1],
            conns: 100,
            samples: 5,
            ..WorkloadSpec::default()
        };
        let runs = run(&spec).unwrap();
        let svg = render("t", &runs);
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 6);
        assert_eq!(svg.matches(">rr</text>").count(), 1);
        assert_eq!(svg.matches(">wlc</text>").count(), 1);
        // Every polyline has one point per sample.
        for line in svg.lines().filter(|l| l.starts_with("<polyline")) {
            let pts = line.split("points=\"").nth(1).unwrap();
            assert_eq!(pts.trim_end_matches("\"/>").split(' ').count(), 5);
        }
    }
}
