//! `--plot` of the competing-risks and multi-state commands writes one well-formed SVG with a
//! curve (and legend entry) per cause or state.

use std::process::Command;

fn strata(args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

fn svg(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && text.trim_end().ends_with("</svg>"));
    text
}

#[test]
fn cumulative_incidence_and_state_occupation_are_plotted() {
    let dir = std::env::temp_dir().join(format!("strata-plots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mgus2 = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/cr_mgus2_cuminc/data.csv");
    let cif = dir.join("cif.svg");
    strata(&["cuminc", "--data", mgus2, "--time", "etime", "--event", "event", "--plot", cif.to_str().unwrap()]);
    let text = svg(&cif);
    assert!(text.contains(">cause 1<") && text.contains(">cause 2<"));

    let stays = dir.join("stays.csv");
    std::fs::write(
        &stays,
        "id,state,next,start,stop\n1,a,b,0,2\n1,b,,2,9\n2,a,c,0,3\n3,a,,0,4\n4,a,b,0,5\n4,b,c,5,7\n",
    )
    .unwrap();
    let occupation = dir.join("occupation.svg");
    strata(&[
        "multistate",
        "--data",
        stays.to_str().unwrap(),
        "--subject",
        "id",
        "--state",
        "state",
        "--next",
        "next",
        "--start",
        "start",
        "--stop",
        "stop",
        "--plot",
        occupation.to_str().unwrap(),
    ]);
    let text = svg(&occupation);
    for state in [">a<", ">b<", ">c<"] {
        assert!(text.contains(state), "{state}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
