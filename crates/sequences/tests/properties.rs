//! Properties every distance and typology must have, on random sequences.

use proptest::prelude::*;
use strata_sequences::cluster::{number_by_first_appearance, ward};
use strata_sequences::{Condensed, Metric, Sequences, Substitution};

/// Random sequences over `states` states with lengths in `lengths`.
fn sequence_sets(
    count: usize,
    states: u8,
    lengths: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Sequences> {
    prop::collection::vec(prop::collection::vec(0..states, lengths), 3..=count).prop_map(|rows| {
        let ids: Vec<String> = (0..rows.len()).map(|i| format!("s{i:03}")).collect();
        let rows: Vec<Vec<String>> =
            rows.iter().map(|r| r.iter().map(|&c| char::from(b'a' + c).to_string()).collect()).collect();
        Sequences::new(&ids, &rows).expect("valid sequences")
    })
}

/// Substitution costs |x_i − x_j| for states placed at points x: a metric.
fn line_costs(sequences: &Sequences, points: &[f64]) -> Substitution {
    let states = sequences.alphabet().to_vec();
    let k = states.len();
    let costs = (0..k * k).map(|e| (points[e / k] - points[e % k]).abs()).collect();
    Substitution::Matrix { states, costs }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn optimal_matching_is_a_metric_under_metric_costs(
        s in sequence_sets(8, 4, 1..=12),
        points in prop::collection::vec(0.0f64..3.0, 4),
        indel in 0.5f64..2.0,
    ) {
        let metric = Metric::OptimalMatching { indel, substitution: line_costs(&s, &points) };
        let m = metric.measure(&s).unwrap();
        let n = s.len();
        for i in 0..n {
            prop_assert_eq!(m.between(s.get(i), s.get(i)), 0.0);
            for j in 0..n {
                let dij = m.between(s.get(i), s.get(j));
                prop_assert!((dij - m.between(s.get(j), s.get(i))).abs() < 1e-12);
                for k in 0..n {
                    let detour = m.between(s.get(i), s.get(k)) + m.between(s.get(k), s.get(j));
                    prop_assert!(dij <= detour + 1e-9, "d({i},{j}) = {dij} > {detour}");
                }
            }
        }
        // The condensed matrix holds the same numbers.
        let all = m.pairwise(&s);
        for i in 0..n {
            for j in (i + 1)..n {
                prop_assert_eq!(all.get(i, j), m.between(s.get(i), s.get(j)));
            }
        }
    }

    #[test]
    fn hamming_is_optimal_matching_when_indels_cost_more_than_any_substitutions(
        s in sequence_sets(8, 4, 6..=6),
        points in prop::collection::vec(0.0f64..3.0, 4),
    ) {
        // Equal lengths need at least two indels, so indel >= L * max / 2 rules them out.
        let substitution = line_costs(&s, &points);
        let max = points.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)) - points.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let om = Metric::OptimalMatching { indel: 6.0 * max / 2.0 + 1e-9, substitution: substitution.clone() }.measure(&s).unwrap();
        let ham = Metric::Hamming(substitution).measure(&s).unwrap();
        prop_assert_eq!(om.pairwise(&s), ham.pairwise(&s));
    }

    #[test]
    fn costly_substitutions_leave_indels_only(s in sequence_sets(10, 5, 1..=15), indel in 0.1f64..3.0) {
        // Substitutions costing at least two indels are never used: OM = indel × LCS distance.
        let lcs = Metric::LongestCommonSubsequence.measure(&s).unwrap().pairwise(&s);
        let om = Metric::OptimalMatching { indel, substitution: Substitution::Constant(2.0 * indel) }
            .measure(&s)
            .unwrap()
            .pairwise(&s);
        for (a, b) in om.values().iter().zip(lcs.values()) {
            prop_assert!((a - indel * b).abs() <= 1e-12 * a.max(1.0));
        }
        // And the alignment recursion, reached by a substitution just under two indels, agrees
        // wherever the cheaper substitution cannot help (lengths differ by the indels needed).
        let near = Metric::OptimalMatching { indel, substitution: Substitution::Constant(2.0 * indel * (1.0 - 1e-9)) }
            .measure(&s)
            .unwrap()
            .pairwise(&s);
        for (a, b) in near.values().iter().zip(om.values()) {
            prop_assert!(*a <= *b + 1e-12 && *a >= b * (1.0 - 1e-9) - 1e-12);
        }
    }

    #[test]
    fn ward_on_distinct_points_with_counts_is_ward_on_every_point(
        points in prop::collection::vec(0.0f64..100.0, 3..12),
        counts in prop::collection::vec(1usize..4, 12),
    ) {
        let expanded: Vec<f64> = points.iter().zip(&counts).flat_map(|(&x, &c)| std::iter::repeat_n(x, c)).collect();
        let of: Vec<usize> = counts.iter().take(points.len()).enumerate().flat_map(|(i, &c)| std::iter::repeat_n(i, c)).collect();
        let line = |x: &[f64]| {
            let mut values = Vec::new();
            for i in 0..x.len() {
                values.extend(((i + 1)..x.len()).map(|j| (x[i] - x[j]).abs()));
            }
            Condensed::new(x.len(), values).unwrap()
        };
        let weights: Vec<f64> = counts.iter().take(points.len()).map(|&c| c as f64).collect();
        let full = ward(&line(&expanded), None).unwrap();
        let weighted = ward(&line(&points), Some(&weights)).unwrap();
        for k in 1..=points.len() {
            let cut = weighted.cut(k).unwrap();
            let mapped: Vec<usize> = of.iter().map(|&d| cut[d]).collect();
            prop_assert_eq!(full.cut(k).unwrap(), number_by_first_appearance(&mapped), "k = {}", k);
        }
    }
}

/// The shortcut — Hamming equals OM once indel exceeds half the largest substitution
/// cost — does not hold: a shift of one position replaces many substitutions by two indels.
#[test]
fn half_the_largest_substitution_is_not_enough_to_rule_out_indels() {
    let s = Sequences::new(&["1", "2"], &[vec!["a", "b", "a", "b"], vec!["b", "a", "b", "a"]]).unwrap();
    let om = Metric::OptimalMatching { indel: 0.6, substitution: Substitution::Constant(1.0) }.measure(&s).unwrap();
    let ham = Metric::Hamming(Substitution::Constant(1.0)).measure(&s).unwrap();
    assert_eq!(ham.between(s.get(0), s.get(1)), 4.0);
    assert!((om.between(s.get(0), s.get(1)) - 1.2).abs() < 1e-12);
}

#[test]
fn distances_do_not_depend_on_the_order_of_the_sequences() {
    let rows = [vec!["a", "b", "b"], vec!["b", "b", "c"], vec!["a", "a", "a"], vec!["c", "a"]];
    let forward = Sequences::new(&["1", "2", "3", "4"], &rows).unwrap();
    let backward =
        Sequences::new(&["4", "3", "2", "1"], &[rows[3].clone(), rows[2].clone(), rows[1].clone(), rows[0].clone()])
            .unwrap();
    let metric = Metric::OptimalMatching { indel: 1.5, substitution: Substitution::TransitionRates };
    assert_eq!(
        metric.measure(&forward).unwrap().pairwise(&forward),
        metric.measure(&backward).unwrap().pairwise(&backward)
    );
}
