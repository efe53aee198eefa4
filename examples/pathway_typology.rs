//! A typology of children's pathways through children's social care, and how it varies with
//! neighbourhood deprivation — sequence analysis as TraMineR and WeightedCluster do it in R.
//!
//! 1. Synthetic pathways (strata-data's generator: referral → assessment → child in need →
//!    protection plan → looked after → closed, escalation faster in more deprived
//!    neighbourhoods) for 50,000 children in six local authorities over three years, as episode
//!    records with dates;
//! 2. monthly state sequences over 36 months since referral (`seqformat` from spells);
//! 3. optimal-matching distances (indel 1, substitution 2: `seqdist(method = "OM")`), computed once
//!    per distinct sequence;
//! 4. Ward's clustering (`hclust(method = "ward.D2")` on the distinct sequences weighted by their
//!    counts), cluster quality for 2–8 clusters (`wcClusterQuality`), the medoid of each cluster;
//! 5. membership by deprivation: the share of each deprivation quintile in each cluster and a
//!    multinomial logit of cluster on deprivation (`nnet::multinom(cluster ~ deprivation)`).
//!
//! Writes `target/examples/pathways/episodes.csv` (for `strata sequences --start start --end end`),
//! `clusters.csv` and two SVG plots, and prints the time each step took.
//!
//! Run: `cargo run --release --example pathway_typology [CHILDREN]`.

use std::fmt::Write as _;
use std::time::Instant;
use strata::prelude::*;
use strata_sequences::describe::describe;
use strata_sequences::episodes::{format_day, from_episodes, parse_day, Grid};
use strata_sequences::{plot, DistinctDistances, Method};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let children: usize = std::env::args().nth(1).map_or(Ok(50_000), |a| a.parse())?;
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/examples/pathways");
    std::fs::create_dir_all(&out)?;
    let clock = Instant::now();

    // 1. Episodes: one row per stay, days since each child's referral on a referral date spread
    // over 2021–22, in one of six authorities.
    let stays = strata::data::synthetic::pathways(children, 0.15, 2024)?;
    let mut episodes = strata::data::synthetic::pathway_episodes(&stays)?;
    let referral_2021 = parse_day("2021-04-01").expect("a date");
    let mut rng = Rng::new(7);
    let mut step_of_child = std::collections::HashMap::new();
    let mut referral = 0.0;
    let mut csv = String::from("child,la,deprivation,state,start,end\n");
    for r in 0..episodes.child.len() {
        let id = &episodes.child[r];
        if !step_of_child.contains_key(id) {
            referral = referral_2021 + (rng.uniform() * 365.0).floor();
            step_of_child.insert(id.clone(), episodes.deprivation[r]);
        }
        // Days since referral become dates; a stay still open has no end date.
        episodes.start[r] += referral;
        episodes.end[r] += referral;
        let la = id[1..].parse::<usize>().map_or(0, |c| c % 6) + 1;
        let end = episodes.end[r];
        let _ = writeln!(
            csv,
            "{id},LA{la},{},{},{},{}",
            episodes.deprivation[r],
            episodes.state[r],
            format_day(episodes.start[r]),
            if end.is_nan() { String::new() } else { format_day(end) }
        );
    }
    std::fs::write(out.join("episodes.csv"), csv)?;
    println!("{children} children, {} episodes ({:.1} s)", episodes.child.len(), clock.elapsed().as_secs_f64());

    // 2. Monthly sequences since referral; a stay shorter than the month loses to its neighbour.
    let clock = Instant::now();
    let sequences = from_episodes(&episodes.child, &episodes.state, &episodes.start, &episodes.end, &Grid::months(36))?;
    let description = describe(&sequences);
    std::fs::write(
        out.join("distribution.svg"),
        plot::distribution_svg(&description, "Pathways by month since referral"),
    )?;

    // 3. Distances among distinct sequences.
    let measure =
        Metric::OptimalMatching { indel: 1.0, substitution: Substitution::Constant(2.0) }.measure(&sequences)?;
    let shared = DistinctDistances::new(&sequences, &measure);
    println!(
        "{} sequences, {} distinct; distances in {:.1} s",
        sequences.len(),
        shared.distinct.weights.len(),
        clock.elapsed().as_secs_f64()
    );

    // 4. Quality over k, then the typology.
    let clock = Instant::now();
    println!("\n  k     ASW     PBC      HC");
    for q in shared.quality_range(2..=8, Method::Ward)? {
        println!("  {:<3} {:>6.3}  {:>6.3}  {:>6.3}", q.clusters, q.asw, q.pbc, q.hc);
    }
    let k = 5;
    let typology = shared.partition(k, Method::Ward)?;
    println!("Ward and quality for 2–8 clusters in {:.1} s\n", clock.elapsed().as_secs_f64());
    for (c, &m) in typology.medoids.iter().enumerate() {
        println!("cluster {} ({:>5} children): medoid {}", c + 1, typology.sizes[c], sequences.spells(m));
    }
    std::fs::write(
        out.join("index.svg"),
        plot::index_svg(&sequences, Some(&typology.clusters), "Pathways by cluster"),
    )?;

    // 5. Membership by deprivation.
    let step: Vec<f64> = sequences.ids().iter().map(|id| step_of_child[id]).collect();
    println!("\nShare of each deprivation quintile in each cluster (%):");
    let mut header = String::from("quintile");
    for c in 1..=k {
        let _ = write!(header, "{c:>7}");
    }
    println!("{header}");
    for quintile in 0..5 {
        let members: Vec<usize> = (0..step.len()).filter(|&i| (step[i] / 2.0).floor() as usize == quintile).collect();
        let mut line = format!("{:>8}", quintile + 1);
        for c in 1..=k {
            let n = members.iter().filter(|&&i| typology.clusters[i] == c).count();
            let _ = write!(line, "{:>7.1}", 100.0 * n as f64 / members.len() as f64);
        }
        println!("{line}");
    }
    let mut text = String::from("child,deprivation,cluster\n");
    for ((id, s), c) in sequences.ids().iter().zip(&step).zip(&typology.clusters) {
        let _ = writeln!(text, "{id},{s},{c}");
    }
    std::fs::write(out.join("clusters.csv"), &text)?;
    let frame = DataFrame::new()
        .with_floats("deprivation", &step)?
        .with_levels("cluster", &typology.clusters.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let fit = MultinomialModel::new("cluster ~ deprivation")?.fit(&frame)?;
    println!("\nMultinomial logit of cluster on deprivation step (relative to cluster 1):\n{}", fit.summary());
    println!("Wrote {}", out.display());
    Ok(())
}
