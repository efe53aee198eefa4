//! Sequence plots as SVG: the state distribution by time (TraMineR's `seqdplot`), the
//! cross-sectional entropy (`seqHtplot`) and the sequence index plot (`seqIplot`), sorted and
//! separated by cluster.

use crate::describe::Description;
use crate::sequence::Sequences;
use std::fmt::Write;
use strata_plot::{escape, Chart, Series};

/// Colours of the states, in alphabet order (repeated beyond ten states).
const PALETTE: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 100.0;
const TOP: f64 = 40.0;
const PLOT_WIDTH: f64 = 450.0;
const PLOT_HEIGHT: f64 = 340.0;

fn frame(title: &str, y_label: &str, states: &[String], length: usize) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time</text>\n\
         <text x=\"18\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {})\">{}</text>\n",
        LEFT + PLOT_WIDTH / 2.0,
        escape(title),
        LEFT + PLOT_WIDTH / 2.0,
        TOP + PLOT_HEIGHT + 38.0,
        TOP + PLOT_HEIGHT / 2.0,
        TOP + PLOT_HEIGHT / 2.0,
        escape(y_label)
    );
    let step = (length / 12).max(1);
    for t in (0..length).step_by(step) {
        let x = LEFT + (t as f64 + 0.5) / length as f64 * PLOT_WIDTH;
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + PLOT_HEIGHT + 18.0,
            t + 1
        );
    }
    for (s, state) in states.iter().enumerate() {
        let y = TOP + 10.0 + s as f64 * 20.0;
        let x = LEFT + PLOT_WIDTH + 20.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"{}\" y=\"{:.1}\">{}</text>",
            y - 11.0,
            PALETTE[s % PALETTE.len()],
            x + 20.0,
            y,
            escape(state)
        );
    }
    svg
}

/// The state distribution plot: at each time, a bar split into the shares of each state.
pub fn distribution_svg(description: &Description, title: &str) -> String {
    let length = description.distribution.len();
    let mut svg = frame(title, "share of sequences", &description.states, length);
    let width = PLOT_WIDTH / length.max(1) as f64;
    for (t, shares) in description.distribution.iter().enumerate() {
        let mut y = TOP + PLOT_HEIGHT;
        for (s, share) in shares.iter().enumerate() {
            let h = share * PLOT_HEIGHT;
            y -= h;
            if h > 0.0 {
                let _ = writeln!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{y:.2}\" width=\"{width:.2}\" height=\"{h:.2}\" fill=\"{}\"/>",
                    LEFT + t as f64 * width,
                    PALETTE[s % PALETTE.len()]
                );
            }
        }
    }
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = TOP + PLOT_HEIGHT * (1.0 - tick);
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>", LEFT - 6.0, y + 4.0);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Cross-sectional entropy by time (`seqHtplot`): 0 where every sequence is in one state, 1
/// where all states are equally common.
pub fn entropy_chart(description: &Description) -> Chart {
    let points = description.entropy.iter().enumerate().map(|(t, &h)| ((t + 1) as f64, h)).collect();
    Chart::new("Cross-sectional entropy", "time", "normalised entropy").y_range(0.0, 1.0).with(Series::Line {
        points,
        colour: strata_plot::BLUE,
        label: String::new(),
        dashed: false,
    })
}

/// The sequence index plot: one row per sequence, one cell per time, coloured by state; with
/// `clusters` (one label per sequence) the rows are grouped by cluster, separated by lines and
/// labelled with the cluster's size.
pub fn index_svg(sequences: &Sequences, clusters: Option<&[usize]>, title: &str) -> String {
    let n = sequences.len();
    let length = sequences.max_length();
    let mut svg = frame(title, "sequences", sequences.alphabet(), length);
    let mut order: Vec<usize> = (0..n).collect();
    if let Some(c) = clusters {
        order.sort_by_key(|&i| (c[i], sequences.get(i).to_vec()));
    } else {
        order.sort_by_key(|&i| sequences.get(i).to_vec());
    }
    let row = PLOT_HEIGHT / n.max(1) as f64;
    let width = PLOT_WIDTH / length.max(1) as f64;
    for (r, &i) in order.iter().enumerate() {
        let y = TOP + r as f64 * row;
        // Runs of one state are drawn as one rectangle.
        let codes = sequences.get(i);
        let mut start = 0;
        while start < codes.len() {
            let end = codes[start..].iter().position(|&c| c != codes[start]).map_or(codes.len(), |p| start + p);
            let _ = writeln!(
                svg,
                "<rect x=\"{:.2}\" y=\"{y:.3}\" width=\"{:.2}\" height=\"{:.3}\" fill=\"{}\"/>",
                LEFT + start as f64 * width,
                (end - start) as f64 * width,
                row.max(0.2),
                PALETTE[codes[start] as usize % PALETTE.len()]
            );
            start = end;
        }
    }
    if let Some(c) = clusters {
        let mut r = 0;
        while r < n {
            let label = c[order[r]];
            let size = order[r..].iter().take_while(|&&i| c[i] == label).count();
            let y = TOP + r as f64 * row;
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.2}\" y2=\"{y:.2}\" stroke=\"black\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label} ({size})</text>",
                LEFT + PLOT_WIDTH,
                LEFT - 4.0,
                y + size as f64 * row / 2.0 + 4.0
            );
            r += size;
        }
    }
    svg.push_str("</svg>\n");
    svg
}
