//! `strata sequences` beyond the reference case: cluster quality against R, episodes, the
//! outputs, and hostile input.

mod common;

use common::{strata, temp_file as write, temp_path, REFERENCE};

/// On the seq_pathways_om data, R 4 (`cluster::silhouette`, `cor`, Hubert's C by its
/// definition) on `cutree(hclust(as.dist(D), "ward.D2"), 4)` with D the expected OM distances:
/// ASW 0.2482223, PBC 0.5081198, HC 0.1628715; for 2 clusters 0.4167822 and HC 0.06766415.
#[test]
fn cluster_quality_matches_r() {
    let data = format!("{REFERENCE}/seq_pathways_om/data.csv");
    let output = strata(&[
        "sequences",
        "--data",
        &data,
        "--id",
        "id",
        "--time",
        "month",
        "--state",
        "state",
        "--quality",
        "2:4",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let q = json["quality"].as_array().unwrap();
    let close = |v: &serde_json::Value, r: f64| (v.as_f64().unwrap() - r).abs() < 1e-6;
    assert!(close(&q[0]["asw"], 0.416_782_2) && close(&q[0]["hc"], 0.067_664_15), "{}", q[0]);
    assert!(close(&q[2]["asw"], 0.248_222_3), "{}", q[2]);
    assert!(close(&q[2]["pbc"], 0.508_119_8), "{}", q[2]);
    assert!(close(&q[2]["hc"], 0.162_871_5), "{}", q[2]);
}

#[test]
fn episodes_become_monthly_sequences_and_clusters_are_written() {
    let episodes = write(
        "episodes.csv",
        "child,state,start,end\n\
         a,cin,2021-01-01,2021-03-01\na,cla,2021-03-01,\n\
         b,cin,2021-02-01,2021-03-01\n\
         c,cin,2021-01-05,2021-02-20\nc,cpp,2021-02-20,2021-04-01\n",
    );
    let clusters = temp_path("clusters.csv");
    let plot = temp_path("index.svg");
    let output = strata(&[
        "sequences",
        "--data",
        &episodes,
        "--id",
        "child",
        "--state",
        "state",
        "--start",
        "start",
        "--end",
        "end",
        "--periods",
        "4",
        "--clusters",
        "2",
        "--clusters-out",
        clusters.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["ids"], serde_json::json!(["a", "b", "c"]));
    let medoids = json["medoids"].as_array().unwrap();
    assert_eq!(medoids.len(), 2);
    // a: cin, cin, cla, cla; b: cin, closed ×3; c: cin, cpp (most of February), cpp, closed.
    assert_eq!(json["description"]["states"], serde_json::json!(["cin", "cla", "closed", "cpp"]));
    let written = std::fs::read_to_string(&clusters).unwrap();
    assert!(written.starts_with("id,cluster\n\"a\","), "{written}");
    assert!(std::fs::read_to_string(&plot).unwrap().contains("<svg"));
}

#[test]
fn wide_data_read_as_long_data() {
    let wide = write("wide.csv", "id,m1,m2,m3\nb,x,x,y\na,x,y,\n");
    let long = write("long2.csv", "id,t,s\na,1,x\na,2,y\nb,1,x\nb,2,x\nb,3,y\n");
    let entropy = temp_path("entropy.svg");
    let from_wide = strata(&[
        "sequences",
        "--data",
        &wide,
        "--id",
        "id",
        "--wide",
        "--json",
        "--entropy-plot",
        entropy.to_str().unwrap(),
    ]);
    let from_long = strata(&["sequences", "--data", &long, "--id", "id", "--time", "t", "--state", "s", "--json"]);
    assert!(from_wide.status.success(), "{}", String::from_utf8_lossy(&from_wide.stderr));
    assert_eq!(from_wide.stdout, from_long.stdout);
    assert!(std::fs::read_to_string(&entropy).unwrap().contains("<svg"));
    let gap = write("gap.csv", "id,m1,m2,m3\na,x,,y\n");
    let output = strata(&["sequences", "--data", &gap, "--id", "id", "--wide"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing state in `m2`"));
}

#[test]
fn hostile_input_is_an_error() {
    let long = write("long.csv", "id,t,s\na,1,x\na,2,y\nb,1,x\nb,2,x\nb,3,y\n");
    let twice = write("twice.csv", "id,t,s\na,1,x\na,1,y\n");
    let overlap = write("overlap.csv", "id,s,start,end\na,cin,2021-01-01,2021-03-01\na,cpp,2021-02-01,2021-04-01\n");
    let costs = write("costs.csv", "state,x,z\nx,0,1\nz,1,0\n");
    let empty = write("empty.csv", "id,t,s\n");
    let negative = write("negative.csv", "state,x,y\nx,0,-1\ny,-1,0\n");
    let base = |data: &str| {
        vec![
            "sequences".to_string(),
            "--data".into(),
            data.to_string(),
            "--id".into(),
            "id".into(),
            "--state".into(),
            "s".into(),
        ]
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            [base(&long), vec!["--time".into(), "t".into(), "--distance".into(), "hamming".into()]].concat(),
            "equal length",
        ),
        ([base(&long), vec!["--time".into(), "t".into(), "--indel".into(), "-1".into()]].concat(), "not negative"),
        (
            [base(&long), vec!["--time".into(), "t".into(), "--substitution".into(), costs.clone()]].concat(),
            "unknown state `z`",
        ),
        ([base(&long), vec!["--time".into(), "t".into(), "--substitution".into(), negative]].concat(), "not negative"),
        ([base(&long), vec!["--time".into(), "t".into(), "--clusters".into(), "3".into()]].concat(), "clusters"),
        ([base(&long), vec!["--time".into(), "t".into(), "--distance".into(), "euclid".into()]].concat(), "--distance"),
        ([base(&twice), vec!["--time".into(), "t".into()]].concat(), "two states at time 1"),
        ([base(&overlap), vec!["--start".into(), "start".into(), "--end".into(), "end".into()]].concat(), "precedence"),
        ([base(&long), vec!["--time".into(), "nope".into()]].concat(), "nope"),
        ([base(&empty), vec!["--time".into(), "t".into()]].concat(), "no sequences"),
        (
            [base(&long), vec!["--time".into(), "t".into(), "--quality".into(), "1:3".into()]].concat(),
            "two or more clusters",
        ),
        (
            [
                base(&overlap),
                vec![
                    "--start".into(),
                    "start".into(),
                    "--end".into(),
                    "end".into(),
                    "--periods".into(),
                    "1000000000".into(),
                ],
            ]
            .concat(),
            "100 years",
        ),
    ];
    for (args, message) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = strata(&refs);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // With a precedence order the overlap resolves.
    let output = strata(&[
        "sequences",
        "--data",
        &overlap,
        "--id",
        "id",
        "--state",
        "s",
        "--start",
        "start",
        "--end",
        "end",
        "--precedence",
        "cpp,cin",
        "--periods",
        "3",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Optimal matching with transition-rate costs and indel 1.5 on 40 of the reference sequences,
/// against sequenzo 0.1.42 (`get_distance_matrix(method = "OM", sm = "TRATE", indel = 1.5)`;
/// the fixture says so).
#[test]
fn transition_rate_costs_match_sequenzo() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let output = strata(&[
        "sequences",
        "--data",
        &format!("{dir}/sequences_40.csv"),
        "--id",
        "id",
        "--time",
        "month",
        "--state",
        "state",
        "--substitution",
        "trate",
        "--indel",
        "1.5",
        "--json",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/sequences_40_om_trate.json")).unwrap()).unwrap();
    assert_eq!(json["ids"], expected["ids"]);
    let (a, e) = (json["distances"].as_array().unwrap(), expected["distances"].as_array().unwrap());
    assert_eq!(a.len(), e.len());
    for (a, e) in a.iter().zip(e) {
        let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
        assert!((a - e).abs() <= 1e-9 * e.abs(), "{a} against sequenzo's {e}");
    }
}

/// PAM on the seq_pathways_om distances equals R 4's `cluster::pam(as.dist(D), k)` (BUILD ties to
/// the last candidate, objects equidistant from two medoids to the earlier medoid) up to
/// relabelling, for 4 and 6 clusters (R's labels below).
#[test]
fn pam_partitions_match_cluster_pam() {
    let data = format!("{REFERENCE}/seq_pathways_om/data.csv");
    for (k, r) in [("4", "1,2,1,2,1,1,3,3,2,3,2,1,3,2,2,4,4,4,4,1,2,1,4,3,2,1,4,2,4,3,3,1,1,2,1,1,4,4,2,1,1,2,1,1,2,4,2,3,2,2,4,1,1,3,1,1,2,2,1,2,3,2,1,1,3,3,2,1,3,1,3,1,1,1,1,1,2,2,4,3,1,4,3,1,2,2,1,4,2,1,3,1,1,4,4,2,1,2,2,1,1,1,1,3,1,4,3,4,1,1,3,3,4,2,3,2,4,1,1,1"), ("6", "1,2,3,2,3,3,4,4,2,4,2,1,4,2,2,5,5,5,5,1,2,1,3,4,2,1,5,6,5,4,4,3,3,2,3,1,5,5,2,3,1,2,1,3,2,5,2,4,2,2,3,3,3,4,1,1,2,2,1,6,4,6,1,1,4,4,2,1,4,1,4,1,3,1,1,1,2,6,6,4,3,5,4,1,2,6,1,6,2,1,4,1,1,5,5,2,1,2,2,1,1,3,1,4,6,5,4,5,1,1,4,4,5,2,4,2,5,1,1,1")] {
        let output = strata(&[
            "sequences", "--data", &data, "--id", "id", "--time", "month", "--state", "state", "--clusters", k,
            "--method", "pam", "--json",
        ]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let ours: Vec<u64> = json["clusters"].as_array().unwrap().iter().map(|c| c["cluster"].as_u64().unwrap()).collect();
        let theirs: Vec<u64> = r.split(',').map(|v| v.parse().unwrap()).collect();
        let (mut forward, mut backward) = (std::collections::HashMap::new(), std::collections::HashMap::new());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(*forward.entry(a).or_insert(b), b, "k = {k}");
            assert_eq!(*backward.entry(b).or_insert(a), a, "k = {k}");
        }
    }
}

/// Ward's clusters under other distances equal R 4's `cutree(hclust(as.dist(D), "ward.D2"), k)`
/// on strata's distances, labels included: Hamming with 6 clusters, OM with TRATE costs with 8
/// (distances with many ties, where the order of merges matters).
#[test]
fn ward_clusters_match_hclust_under_other_distances() {
    let data = format!("{REFERENCE}/seq_pathways_om/data.csv");
    let cases: [(&[&str], &str, &str); 2] = [
        (&["--distance", "hamming"], "6", "1,2,3,2,3,2,1,1,2,1,2,1,1,2,4,5,5,1,5,1,4,3,4,1,1,1,5,6,4,1,1,3,3,1,3,1,1,5,2,3,1,4,1,3,1,1,2,1,4,4,3,3,1,1,1,2,2,2,2,6,1,6,1,1,1,1,2,2,1,2,1,1,2,2,2,1,1,6,6,1,1,5,1,1,2,6,1,6,1,3,1,3,1,5,1,2,1,2,4,1,1,3,2,1,3,5,1,5,1,1,1,1,5,2,1,5,5,2,2,1"),
        (&["--distance", "om", "--substitution", "trate"], "8", "1,2,3,4,3,3,5,5,2,5,2,1,5,2,4,6,1,1,1,5,6,3,7,5,2,1,7,8,6,5,5,3,3,1,3,1,1,6,2,3,5,6,3,3,1,1,4,5,4,6,3,3,1,5,5,3,2,2,3,8,5,8,5,1,5,5,2,3,5,3,5,3,3,3,3,1,2,8,8,5,1,7,5,1,2,6,1,6,2,3,5,3,1,7,1,2,5,2,4,5,3,3,3,5,3,7,5,6,1,1,5,5,6,2,5,6,7,3,3,1"),
    ];
    for (distance, k, r) in cases {
        let mut args = vec![
            "sequences",
            "--data",
            &data,
            "--id",
            "id",
            "--time",
            "month",
            "--state",
            "state",
            "--clusters",
            k,
            "--json",
        ];
        args.extend(distance);
        let output = strata(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let ours: Vec<String> = json["clusters"].as_array().unwrap().iter().map(|c| c["cluster"].to_string()).collect();
        assert_eq!(ours.join(","), r, "{distance:?}");
    }
}
