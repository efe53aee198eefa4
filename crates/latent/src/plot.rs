//! Latent class plots as SVG: the item-probability profile of each class (poLCA's `plot`), and
//! the information criteria against the number of classes.

use crate::model::LatentClassFit;
use crate::select::Criteria;
use std::fmt::Write;
use strata_plot::{escape, Chart, Series, BLUE, GREEN, RED};

const PALETTE: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// Profiles: for each indicator (and level, beyond the first of polytomous ones; P(1) for 0/1
/// indicators), the probability of that response in each class, one line per class.
pub fn profiles_svg(fit: &LatentClassFit) -> String {
    let k = fit.classes();
    let mut labels = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (j, name) in fit.indicators.iter().enumerate() {
        let levels = &fit.levels[j];
        let r = levels.len();
        for (l, level) in levels.iter().enumerate().skip(1) {
            labels.push(if r == 2 { name.clone() } else { format!("{name} = {level}") });
            for (c, column) in values.iter_mut().enumerate() {
                column.push(fit.parameters.items[j][c * r + l]);
            }
        }
    }
    let (left, top, width, height) = (110.0, 40.0, 40.0 * labels.len().max(4) as f64, 300.0);
    let total_width = left + width + 190.0;
    let total_height = top + height + 190.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_width}\" height=\"{total_height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Item-response probabilities by class</text>\n",
        left + width / 2.0
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = top + height * (1.0 - tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{tick}</text>",
            left + width,
            left - 6.0,
            y + 4.0
        );
    }
    let x_of = |i: usize| left + (i as f64 + 0.5) * width / labels.len() as f64;
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = (x_of(i), top + height + 10.0);
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{y}\" text-anchor=\"end\" transform=\"rotate(-60 {x:.1} {y})\">{}</text>",
            escape(label)
        );
    }
    for (c, column) in values.iter().enumerate() {
        let colour = PALETTE[c % PALETTE.len()];
        let points: Vec<String> =
            column.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x_of(i), top + height * (1.0 - p))).collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            points.join(" ")
        );
        for point in &points {
            let (x, y) = point.split_once(',').expect("x,y");
            let _ = writeln!(svg, "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{colour}\"/>");
        }
        let y = top + 10.0 + 20.0 * c as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">class {} ({:.1}%)</text>",
            left + width + 20.0,
            y - 4.0,
            left + width + 40.0,
            y,
            c + 1,
            100.0 * fit.parameters.proportions[c]
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// AIC, BIC and sample-size-adjusted BIC against the number of classes.
pub fn criteria_chart(rows: &[Criteria]) -> Chart {
    let line = |f: fn(&Criteria) -> f64, colour: &'static str, label: &str| Series::Line {
        points: rows.iter().map(|r| (r.n_classes as f64, f(r))).collect(),
        colour,
        label: label.into(),
        dashed: false,
    };
    Chart::new("Information criteria by number of classes", "classes", "criterion")
        .with(line(|r| r.aic, BLUE, "AIC"))
        .with(line(|r| r.bic, RED, "BIC"))
        .with(line(|r| r.sabic, GREEN, "SABIC"))
}
