//! strata-plot: small SVG charts for reports — lines, step curves, confidence bands, points
//! with error bars, and axes with round tick values. No dependencies; the output is plain
//! SVG 1.1. The command line, the demo report, the latent class and sequence plots and the
//! examples draw with it; the model crates do not need it.

use std::fmt::Write;

/// Colours of the default palette.
pub const BLUE: &str = "#1f77b4";
/// Colours of the default palette.
pub const RED: &str = "#d62728";
/// Colours of the default palette.
pub const GREEN: &str = "#2ca02c";
/// Colours of the default palette.
pub const GREY: &str = "#7f7f7f";

/// One thing drawn on a chart.
#[derive(Debug, Clone, PartialEq)]
pub enum Series {
    /// A polyline.
    Line {
        /// (x, y) points.
        points: Vec<(f64, f64)>,
        /// An SVG colour.
        colour: &'static str,
        /// Legend text (empty for none).
        label: String,
        /// Whether the line is dashed.
        dashed: bool,
    },
    /// A right-continuous step function (survival curves).
    Step {
        /// (x, y) points at the steps.
        points: Vec<(f64, f64)>,
        /// An SVG colour.
        colour: &'static str,
        /// Legend text.
        label: String,
    },
    /// A filled band between lower and upper curves at the same x values.
    Band {
        /// x values.
        x: Vec<f64>,
        /// Lower curve.
        lower: Vec<f64>,
        /// Upper curve.
        upper: Vec<f64>,
        /// An SVG colour (drawn translucent).
        colour: &'static str,
        /// Whether to draw it as steps.
        step: bool,
    },
    /// Points with vertical error bars: (x, y, lower, upper); NaN limits draw no bar.
    Points {
        /// The points.
        points: Vec<(f64, f64, f64, f64)>,
        /// An SVG colour.
        colour: &'static str,
        /// Legend text.
        label: String,
    },
}

/// A chart with a title, axis labels and series.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    y_range: Option<(f64, f64)>,
    table: Option<RiskTable>,
}

/// A table under the x axis, such as numbers at risk: one row per curve, values at given times.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskTable {
    /// The table's title.
    pub title: String,
    /// The times at which values are shown.
    pub times: Vec<f64>,
    /// (label, colour, one value per time).
    pub rows: Vec<(String, &'static str, Vec<String>)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;

/// Text escaped for SVG.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Round tick values covering `[low, high]`.
pub fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(1e-12);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| span / s <= 6.0).unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() * step;
    (0..12u32)
        .map(|k| first + f64::from(k) * step)
        .take_while(|v| *v <= high + 1e-9 * span)
        // Remove the representation error of the sums (3 × 0.2 = 0.6000000000000001): dividing
        // by a power of ten rounds correctly.
        .map(|v| {
            let scale = 10f64.powi((2 - step.log10().floor() as i32).max(0));
            (v * scale).round() / scale
        })
        .collect()
}

fn format_tick(v: f64) -> String {
    if v.abs() >= 1e4 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.1e}")
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Chart {
    /// A new chart.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            y_range: None,
            table: None,
        }
    }

    /// Adds a series.
    #[must_use]
    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a table under the x axis (numbers at risk).
    #[must_use]
    pub fn with_table(mut self, table: RiskTable) -> Self {
        self.table = Some(table);
        self
    }

    /// Fixes the y range.
    #[must_use]
    pub fn y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    fn extent(&self) -> ((f64, f64), (f64, f64)) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &self.series {
            match s {
                Series::Line { points, .. } | Series::Step { points, .. } => {
                    xs.extend(points.iter().map(|p| p.0));
                    ys.extend(points.iter().map(|p| p.1));
                }
                Series::Band { x, lower, upper, .. } => {
                    xs.extend(x);
                    ys.extend(lower.iter().chain(upper));
                }
                Series::Points { points, .. } => {
                    xs.extend(points.iter().map(|p| p.0));
                    ys.extend(points.iter().flat_map(|p| [p.1, p.2, p.3]));
                }
            }
        }
        let finite = |v: Vec<f64>| v.into_iter().filter(|x| x.is_finite()).collect::<Vec<_>>();
        let (xs, ys) = (finite(xs), finite(ys));
        let range = |v: &[f64]| {
            (v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        };
        let (xl, xh) = range(&xs);
        let x = if xl == 0.0 { (xl, xh) } else { (xl - 0.03 * (xh - xl), xh + 0.03 * (xh - xl)) };
        let y = self.y_range.unwrap_or_else(|| {
            let (low, high) = range(&ys);
            let pad = (high - low).abs().max(1e-9) * 0.05;
            (low - pad, high + pad)
        });
        (x, y)
    }

    /// Renders the chart as SVG text.
    pub fn to_svg(&self) -> String {
        // Room on the left for the table's row labels.
        let label_width =
            self.table.as_ref().map_or(0, |t| t.rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0));
        let left = LEFT.max(30.0 + 7.0 * label_width as f64);
        let ((x0, x1), (y0, y1)) = self.extent();
        let (x1, y1) = (if x1 > x0 { x1 } else { x0 + 1.0 }, if y1 > y0 { y1 } else { y0 + 1.0 });
        let sx = |x: f64| left + (x - x0) / (x1 - x0) * (WIDTH - left - RIGHT);
        let sy = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * (HEIGHT - TOP - BOTTOM);
        let mut svg = String::new();
        let extra = self.table.as_ref().map_or(0.0, |t| 24.0 + 16.0 * t.rows.len() as f64);
        let height = HEIGHT + extra;
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
        if let Some(table) = &self.table {
            let _ = writeln!(
                svg,
                r#"<text x="{left}" y="{}" font-weight="bold">{}</text>"#,
                HEIGHT + 10.0,
                escape(&table.title)
            );
            for (r, (label, colour, values)) in table.rows.iter().enumerate() {
                let y = HEIGHT + 28.0 + 16.0 * r as f64;
                let _ = writeln!(
                    svg,
                    r#"<text x="{}" y="{y}" text-anchor="end" fill="{colour}">{}</text>"#,
                    left - 20.0,
                    escape(label)
                );
                for (t, v) in table.times.iter().zip(values) {
                    let _ =
                        writeln!(svg, r#"<text x="{:.1}" y="{y}" text-anchor="middle">{}</text>"#, sx(*t), escape(v));
                }
            }
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        // Axes and ticks.
        let _ = writeln!(
            svg,
            r##"<path d="M{left},{TOP} V{} H{}" fill="none" stroke="#333333"/>"##,
            HEIGHT - BOTTOM,
            WIDTH - RIGHT
        );
        for t in ticks(x0, x1) {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" x2="{0:.1}" y1="{1}" y2="{2}" stroke="#333333"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4}</text>"##,
                sx(t),
                HEIGHT - BOTTOM,
                HEIGHT - BOTTOM + 5.0,
                HEIGHT - BOTTOM + 18.0,
                format_tick(t)
            );
        }
        for t in ticks(y0, y1) {
            let _ = writeln!(
                svg,
                r##"<line x1="{0}" x2="{1}" y1="{2:.1}" y2="{2:.1}" stroke="#dddddd"/><text x="{3}" y="{4:.1}" text-anchor="end">{5}</text>"##,
                left,
                WIDTH - RIGHT,
                sy(t),
                left - 6.0,
                sy(t) + 4.0,
                format_tick(t)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            f64::midpoint(left, WIDTH - RIGHT),
            HEIGHT - 12.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text x="16" y="{0}" text-anchor="middle" transform="rotate(-90 16 {0})">{1}</text>"#,
            f64::midpoint(TOP, HEIGHT - BOTTOM),
            escape(&self.y_label)
        );
        let mut legend = Vec::new();
        for s in &self.series {
            match s {
                Series::Band { x, lower, upper, colour, step } => {
                    let mut path = String::new();
                    let mut upper_points: Vec<(f64, f64)> = Vec::new();
                    let mut lower_points: Vec<(f64, f64)> = Vec::new();
                    for i in 0..x.len() {
                        if !(lower[i].is_finite() && upper[i].is_finite()) {
                            continue;
                        }
                        if *step {
                            if let (Some(&(_, u)), Some(&(_, l))) = (upper_points.last(), lower_points.last()) {
                                upper_points.push((x[i], u));
                                lower_points.push((x[i], l));
                            }
                        }
                        upper_points.push((x[i], upper[i]));
                        lower_points.push((x[i], lower[i]));
                    }
                    for (k, (a, b)) in upper_points.iter().chain(lower_points.iter().rev()).enumerate() {
                        let _ = write!(path, "{}{:.1},{:.1} ", if k == 0 { "M" } else { "L" }, sx(*a), sy(*b));
                    }
                    if !path.is_empty() {
                        let _ =
                            writeln!(svg, r#"<path d="{path}Z" fill="{colour}" fill-opacity="0.18" stroke="none"/>"#);
                    }
                }
                Series::Line { points, colour, label, dashed } => {
                    let coordinates: Vec<String> = points
                        .iter()
                        .filter(|p| p.1.is_finite())
                        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                        .collect();
                    let dash = if *dashed { r#" stroke-dasharray="6 4""# } else { "" };
                    let _ = writeln!(
                        svg,
                        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
                        coordinates.join(" ")
                    );
                    legend.push((label.clone(), *colour));
                }
                Series::Step { points, colour, label } => {
                    let mut path = String::new();
                    let mut previous: Option<f64> = None;
                    for (k, (x, y)) in points.iter().enumerate() {
                        if let Some(py) = previous {
                            let _ = write!(path, "L{:.1},{:.1} ", sx(*x), sy(py));
                        }
                        let _ = write!(path, "{}{:.1},{:.1} ", if k == 0 { "M" } else { "L" }, sx(*x), sy(*y));
                        previous = Some(*y);
                    }
                    let _ = writeln!(svg, r#"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>"#);
                    legend.push((label.clone(), *colour));
                }
                Series::Points { points, colour, label } => {
                    for (x, y, low, high) in points {
                        if low.is_finite() && high.is_finite() {
                            let _ = writeln!(
                                svg,
                                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="{colour}"/>"#,
                                sx(*x),
                                sy(*low),
                                sy(*high)
                            );
                        }
                        let _ =
                            writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#, sx(*x), sy(*y));
                    }
                    legend.push((label.clone(), *colour));
                }
            }
        }
        for (k, (label, colour)) in legend.iter().filter(|(l, _)| !l.is_empty()).enumerate() {
            let y = TOP + 8.0 + 16.0 * k as f64;
            let _ = writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="12" height="4" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
                WIDTH - RIGHT - 200.0,
                y - 4.0,
                WIDTH - RIGHT - 182.0,
                y + 1.0,
                escape(label)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 10.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.13, 0.92), [0.2, 0.4, 0.6, 0.8]);
    }

    #[test]
    fn charts_are_well_formed_svg() {
        let svg = Chart::new("A & B", "x", "y")
            .with(Series::Step { points: vec![(0.0, 1.0), (1.0, 0.5)], colour: "#1f77b4", label: "curve".into() })
            .with(Series::Points { points: vec![(1.0, 2.0, 1.5, 2.5)], colour: "#d62728", label: String::new() })
            .to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("A &amp; B"));
        // The axes and the step curve are paths; the point is one circle with its error bar.
        assert_eq!(svg.matches("<path").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 1);
    }
}
