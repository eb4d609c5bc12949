//! SVG charts of the value pages, drawn on the server: plain SVG text with
//! the numbers in it, readable without script and printable.

use std::fmt::Write;

/// Escapes text for SVG content and attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const GRADE_COLOURS: [&str; 4] = ["#1b7f3b", "#2f6fb3", "#c98a12", "#9a9a9a"];

/// Bars of customers per grade, each labelled with its count and its share
/// of the window's revenue. `bars` is (label, customers, revenue share 0–1).
pub fn grade_bars(bars: &[(String, i64, f64)], title: &str) -> String {
    let (w, h, left, bottom) = (420.0, 220.0, 40.0, 30.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let slot = (w - left - 10.0) / bars.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" id="grade-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    let _ =
        write!(s, r##"<line x1="{left}" y1="{y}" x2="{x2}" y2="{y}" stroke="#888"/>"##, y = h - bottom, x2 = w - 10.0);
    for (i, (label, count, share)) in bars.iter().enumerate() {
        let bh = (h - bottom - 30.0) * (*count as f64) / max;
        let x = left + slot * i as f64 + slot * 0.15;
        let y = h - bottom - bh;
        let colour = GRADE_COLOURS[i.min(3)];
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{colour}"><title>{t}</title></rect>"#,
            bw = slot * 0.7,
            t = esc(&format!("{label}: {count}"))
        );
        let cx = x + slot * 0.35;
        let _ = write!(
            s,
            r#"<text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" font-size="12">{count} · {p:.0}%</text>"#,
            ty = y - 4.0,
            p = share * 100.0
        );
        let _ = write!(
            s,
            r#"<text x="{cx:.1}" y="{ly:.1}" text-anchor="middle" font-size="12">{l}</text>"#,
            ly = h - bottom + 16.0,
            l = esc(label)
        );
    }
    s.push_str("</svg>");
    s
}

/// The Pareto curve: share of revenue against share of customers (largest
/// first), with the A/B/C thresholds as guides. Points run from (0,0) to (1,1).
pub fn pareto(points: &[(f64, f64)], thresholds: &[(String, f64)], title: &str) -> String {
    let (w, h, pad) = (420.0, 260.0, 36.0);
    let px = |x: f64| pad + x * (w - 2.0 * pad);
    let py = |y: f64| h - pad - y * (h - 2.0 * pad);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" id="pareto-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    let _ = write!(
        s,
        r##"<rect x="{pad}" y="{pad}" width="{}" height="{}" fill="none" stroke="#bbb"/>"##,
        w - 2.0 * pad,
        h - 2.0 * pad
    );
    let _ = write!(
        s,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ccc" stroke-dasharray="4 3"/>"##,
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    );
    for (label, share) in thresholds {
        let y = py(*share);
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e0a000" stroke-dasharray="2 3"/><text x="{}" y="{:.1}" font-size="11" fill="#a07000">{}</text>"##,
            px(0.0),
            px(1.0),
            px(0.0) + 4.0,
            y - 3.0,
            esc(label)
        );
    }
    let path: Vec<String> = points.iter().map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y))).collect();
    let _ = write!(s, r##"<polyline points="{}" fill="none" stroke="#1b7f3b" stroke-width="2"/>"##, path.join(" "));
    for (v, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="{anchor}">{:.0}%</text>"#,
            px(v),
            h - pad + 14.0,
            v * 100.0
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{:.0}%</text>"#,
            pad - 4.0,
            py(v) + 4.0,
            v * 100.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Buyers as points of volume (log scale, x) against loyalty (0–1, y), the
/// quadrants split at the median volume and at `loyalty_high`, each labelled
/// with its name and count. `points` is (volume in yuan, loyalty, quadrant
/// index 0–3 = core, future, defect risk, no value); `labels` likewise.
pub fn quadrants(
    points: &[(f64, f64, usize)],
    median: f64,
    loyalty_high: f64,
    labels: &[(String, i64); 4],
    title: &str,
) -> String {
    let (w, h, pad) = (460.0, 300.0, 40.0);
    let lo = points.iter().map(|p| p.0).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.0).fold(0.0f64, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo { (lo.ln(), hi.ln()) } else { (0.0, 1.0) };
    let px = |v: f64| {
        let t = if v > 0.0 { (v.ln() - lo) / (hi - lo) } else { 0.0 };
        pad + t.clamp(0.0, 1.0) * (w - 2.0 * pad)
    };
    let py = |l: f64| h - pad - l.clamp(0.0, 1.0) * (h - 2.0 * pad);
    const COLOURS: [&str; 4] = ["#1b7f3b", "#2f6fb3", "#c0392b", "#9a9a9a"];
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" id="quadrant-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    let _ = write!(
        s,
        r##"<rect x="{pad}" y="{pad}" width="{}" height="{}" fill="none" stroke="#bbb"/>"##,
        w - 2.0 * pad,
        h - 2.0 * pad
    );
    let (mx, my) = (px(median), py(loyalty_high));
    let _ = write!(
        s,
        r##"<line x1="{mx:.1}" y1="{pad}" x2="{mx:.1}" y2="{}" stroke="#888" stroke-dasharray="4 3"/><line x1="{pad}" y1="{my:.1}" x2="{}" y2="{my:.1}" stroke="#888" stroke-dasharray="4 3"/>"##,
        h - pad,
        w - pad
    );
    for (x, y, q) in points {
        let _ = write!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2.2" fill="{}" fill-opacity="0.6"/>"#,
            px(*x),
            py(*y),
            COLOURS[(*q).min(3)]
        );
    }
    // Labels in the corners: core top right, future top left, defect risk
    // bottom right, no value bottom left.
    let spots = [
        (w - pad - 4.0, pad + 14.0, "end"),
        (pad + 4.0, pad + 14.0, "start"),
        (w - pad - 4.0, h - pad - 6.0, "end"),
        (pad + 4.0, h - pad - 6.0, "start"),
    ];
    for (i, (label, count)) in labels.iter().enumerate() {
        let (x, y, anchor) = spots[i];
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="12" text-anchor="{anchor}" fill="{}" class="quadrant-label">{} ({count})</text>"#,
            COLOURS[i],
            esc(label)
        );
    }
    s.push_str("</svg>");
    s
}

/// A small line of P(alive) over runs (oldest first), 0–100 %.
pub fn sparkline(values: &[(String, f64)], title: &str) -> String {
    let (w, h, pad) = (240.0, 60.0, 6.0);
    let n = values.len();
    let px = |i: usize| if n <= 1 { w / 2.0 } else { pad + i as f64 * (w - 2.0 * pad) / (n - 1) as f64 };
    let py = |v: f64| h - pad - v.clamp(0.0, 1.0) * (h - 2.0 * pad);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="sparkline" id="p-alive-history" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    let _ = write!(s, r##"<line x1="0" y1="{y:.1}" x2="{w}" y2="{y:.1}" stroke="#ddd"/>"##, y = py(0.5));
    let pts: Vec<String> = values.iter().enumerate().map(|(i, (_, v))| format!("{:.1},{:.1}", px(i), py(*v))).collect();
    if n > 1 {
        let _ = write!(s, r##"<polyline points="{}" fill="none" stroke="#2f6fb3" stroke-width="2"/>"##, pts.join(" "));
    }
    for (i, (label, v)) in values.iter().enumerate() {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#2f6fb3"><title>{}: {:.0}%</title></circle>"##,
            px(i),
            py(*v),
            esc(label),
            v * 100.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_carry_counts_shares_and_escaped_labels() {
        let svg = grade_bars(&[("A <核心>".into(), 12, 0.5), ("B".into(), 30, 0.3)], "等级");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("12 · 50%") && svg.contains("30 · 30%"));
        assert!(svg.contains("A &lt;核心&gt;") && !svg.contains("<核心>"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn the_pareto_curve_runs_corner_to_corner() {
        let svg = pareto(&[(0.0, 0.0), (0.2, 0.8), (1.0, 1.0)], &[("A 50%".into(), 0.5)], "Pareto");
        assert!(svg.contains(r#"points="36.0,224.0 105.6,73.6 384.0,36.0""#), "{svg}");
        assert!(svg.contains("A 50%"));
    }

    #[test]
    fn quadrant_points_fall_on_their_side_of_the_medians() {
        let labels = [("核心".into(), 1), ("潜力".into(), 1), ("易流失".into(), 0), ("低价值".into(), 0)];
        let svg = quadrants(&[(100.0, 0.9, 1), (10_000.0, 0.9, 0)], 1000.0, 0.5, &labels, "q");
        assert!(svg.contains(r#"cx="40.0""#) && svg.contains(r#"cx="420.0""#), "{svg}");
        assert!(svg.contains("核心 (1)") && svg.contains("低价值 (0)"));
    }

    #[test]
    fn a_sparkline_has_one_dot_per_run() {
        let svg = sparkline(&[("2026-01-01".into(), 0.9), ("2026-02-01".into(), 0.4)], "P(alive)");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("2026-02-01: 40%") && svg.contains("<polyline"));
    }
}
