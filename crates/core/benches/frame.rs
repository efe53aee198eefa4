//! Reading a CSV of 1,000,000 rows × 12 numeric columns (about 80 MB), from memory and from a
//! file (reported in MB/s), and building its model matrix: the cost every `strata` command pays
//! before fitting.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write;
use strata_core::csv::{parse_csv, read_csv, CsvOptions};
use strata_core::design::{model_expressions, ModelMatrix};
use strata_core::model_frame::ModelFrame;
use strata_core::Formula;

fn csv_text(rows: usize) -> String {
    let mut text = (1..=12).map(|j| format!("x{j}")).collect::<Vec<_>>().join(",");
    text.push('\n');
    let mut state: u64 = 42;
    for _ in 0..rows {
        for j in 0..12 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * 1000.0;
            write!(text, "{}{value:.4}", if j == 0 { "" } else { "," }).expect("write to string");
        }
        text.push('\n');
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = csv_text(1_000_000);
    let mut group = c.benchmark_group("frame");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group
        .bench_function("parse_csv_1e6x12", |b| b.iter(|| parse_csv(text.as_bytes(), &CsvOptions::default()).unwrap()));
    let path = std::env::temp_dir().join(format!("strata-bench-frame-{}.csv", std::process::id()));
    std::fs::write(&path, &text).expect("write the benchmark file");
    group.bench_function("read_csv_file_1e6x12", |b| b.iter(|| read_csv(&path, &CsvOptions::default()).unwrap()));
    std::fs::remove_file(&path).expect("remove the benchmark file");
    group.throughput(Throughput::Elements(1_000_000));
    let frame = parse_csv(text.as_bytes(), &CsvOptions::default()).unwrap();
    let formula = Formula::parse("x1 ~ x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12").unwrap();
    let terms = formula.terms().unwrap();
    group.bench_function("model_matrix_1e6x12", |b| {
        b.iter(|| {
            let model_frame =
                ModelFrame::new(&frame, &model_expressions(&terms, &[formula.response().unwrap()])).unwrap();
            ModelMatrix::new(&terms, &model_frame).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
