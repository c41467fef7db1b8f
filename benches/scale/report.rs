//! Samples, medians with min/max, ratios over interleaved pairs (the read
//! floor and an in-sync jetsync run, one right after the other) or else
//! paired repetition by repetition, the targets of issues 8, 14 and 20, the
//! printed tables and the JSON result.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::workload::Scale;

/// What was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateFloor,
    ApplyFromEmpty,
    PeerFromEmpty,
    ReadFloor,
    InfoFloor,
    NoopPlan,
    NoopPlanStdin,
    NoopApply,
    PeerInSync,
    DriftPlan,
    DriftApply,
}

impl Operation {
    /// Table order.
    pub const ALL: [Operation; 11] = [
        Operation::CreateFloor,
        Operation::ApplyFromEmpty,
        Operation::PeerFromEmpty,
        Operation::ReadFloor,
        Operation::InfoFloor,
        Operation::NoopPlan,
        Operation::NoopPlanStdin,
        Operation::NoopApply,
        Operation::PeerInSync,
        Operation::DriftPlan,
        Operation::DriftApply,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Operation::CreateFloor => "create_floor",
            Operation::ApplyFromEmpty => "apply_from_empty",
            Operation::PeerFromEmpty => "nats_py_from_empty",
            Operation::ReadFloor => "read_floor",
            Operation::InfoFloor => "info_floor",
            Operation::NoopPlan => "noop_plan",
            Operation::NoopPlanStdin => "noop_plan_stdin",
            Operation::NoopApply => "noop_apply",
            Operation::PeerInSync => "nats_py_in_sync",
            Operation::DriftPlan => "drift_plan",
            Operation::DriftApply => "drift_apply",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Operation::CreateFloor => "create floor (async-nats, 64 in flight)",
            Operation::ApplyFromEmpty => "jetsync apply, from empty",
            Operation::PeerFromEmpty => "nats-py reconcile, from empty",
            Operation::ReadFloor => "read floor (LIST, async-nats, 64 in flight)",
            Operation::InfoFloor => "INFO per asset (async-nats, 64 in flight)",
            Operation::NoopPlan => "jetsync plan, in sync (no-op)",
            Operation::NoopPlanStdin => "jetsync plan -f -, W as one stdin stream, in sync",
            Operation::NoopApply => "jetsync apply, in sync",
            Operation::PeerInSync => "nats-py reconcile, in sync",
            Operation::DriftPlan => "jetsync plan, 1% drifted",
            Operation::DriftApply => "jetsync apply, 1% drifted",
        }
    }

    fn is_jetsync(self) -> bool {
        matches!(
            self,
            Operation::ApplyFromEmpty
                | Operation::NoopPlan
                | Operation::NoopPlanStdin
                | Operation::NoopApply
                | Operation::DriftPlan
                | Operation::DriftApply
        )
    }
}

/// One measured process.
#[derive(Clone, Debug)]
pub struct Sample {
    pub scale: &'static str,
    pub operation: Operation,
    pub rep: usize,
    /// The round of interleaved pairs within the repetition (0 for what is
    /// measured once per repetition).
    pub round: usize,
    /// For a read floor measured as half of an interleaved pair: the
    /// operation it is paired with.
    pub floor_of: Option<Operation>,
    /// The one-minute load average when the process ended.
    pub load_average: f64,
    pub wall_seconds: f64,
    pub max_rss_kib: u64,
    /// The measured process's own CPU time (user + system).
    pub cpu_seconds: f64,
    pub api_requests: u64,
    pub server_cpu_seconds: f64,
    pub server_write_bytes: u64,
}

impl Sample {
    pub fn to_json(&self) -> Value {
        json!({
            "scale": self.scale,
            "operation": self.operation.key(),
            "repetition": self.rep,
            "round": self.round,
            "floor_of": self.floor_of.map(Operation::key),
            "load_average": self.load_average,
            "wall_seconds": self.wall_seconds,
            "peak_rss_kib": self.max_rss_kib,
            "cpu_seconds": self.cpu_seconds,
            "api_requests": self.api_requests,
            "server_cpu_seconds": self.server_cpu_seconds,
            "server_write_bytes": self.server_write_bytes,
        })
    }

    fn rss_mb(&self) -> f64 {
        self.max_rss_kib as f64 * 1024.0 / 1e6
    }
}

/// Median, min and max of some values.
#[derive(Clone, Copy, Debug)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(values: &[f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Some(Stats {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }

    fn json(&self) -> Value {
        json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

/// How a ratio or value is judged.
#[derive(Clone, Copy, Debug)]
enum Target {
    AtMost(f64),
    None,
}

/// One ratio (or absolute value) with its target.
struct Ratio {
    name: String,
    scale: &'static str,
    stats: Stats,
    target: Target,
    pairs: usize,
}

impl Ratio {
    fn met(&self) -> Option<bool> {
        match self.target {
            Target::AtMost(limit) => Some(self.stats.median <= limit),
            Target::None => None,
        }
    }
}

pub struct Report<'a> {
    samples: &'a [Sample],
    scales: Vec<Scale>,
    quick: bool,
    ratios: Vec<Ratio>,
}

fn wall(sample: &Sample) -> f64 {
    sample.wall_seconds
}

fn cpu(sample: &Sample) -> f64 {
    sample.cpu_seconds
}

/// The sample of `bottoms` that `a` is compared with: the read floor run
/// right before it (an interleaved pair); else the sample of the same
/// repetition, round and pairing (the same operation at another scale);
/// else any of the same repetition.
fn partner<'s>(a: &Sample, bottoms: &[&'s Sample]) -> Option<&'s Sample> {
    let same_round = |b: &&&Sample| b.rep == a.rep && b.round == a.round;
    bottoms
        .iter()
        .find(|b| same_round(b) && b.floor_of == Some(a.operation))
        .or_else(|| {
            bottoms
                .iter()
                .find(|b| same_round(b) && b.floor_of == a.floor_of)
        })
        .or_else(|| bottoms.iter().find(|b| b.rep == a.rep))
        .copied()
}

impl<'a> Report<'a> {
    pub fn new(samples: &'a [Sample], scales: &[Scale], quick: bool) -> Self {
        let mut report = Report {
            samples,
            scales: scales.to_vec(),
            quick,
            ratios: Vec::new(),
        };
        report.ratios = report.compute_ratios();
        report
    }

    fn of(&self, scale: &str, operation: Operation) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.scale == scale && s.operation == operation)
            .collect()
    }

    /// `numerator / denominator` of `metric`, each numerator sample with its
    /// partner (see [`partner`]).
    fn paired(
        &self,
        (top_scale, top): (&str, Operation),
        (bottom_scale, bottom): (&str, Operation),
        metric: fn(&Sample) -> f64,
    ) -> (Vec<f64>, usize) {
        let bottoms = self.of(bottom_scale, bottom);
        let ratios: Vec<f64> = self
            .of(top_scale, top)
            .into_iter()
            .filter_map(|a| {
                let b = partner(a, &bottoms)?;
                (metric(b) > 0.0).then(|| metric(a) / metric(b))
            })
            .collect();
        let pairs = ratios.len();
        (ratios, pairs)
    }

    fn compute_ratios(&self) -> Vec<Ratio> {
        let mut ratios = Vec::new();
        let is_w = |scale: &str| scale == Scale::W.label;
        for scale in &self.scales {
            let label = scale.label;
            let target = |limit: f64| {
                if is_w(label) {
                    Target::AtMost(limit)
                } else {
                    Target::None
                }
            };
            // Interleaved pairs against the read floor: wall (the issue's
            // measure, what users feel) and CPU (the part that does not
            // depend on the machine's load).
            let against_floor = [
                (Operation::NoopPlan, target(1.25)),
                (Operation::NoopPlanStdin, target(1.25)),
                (Operation::NoopApply, target(1.5)),
            ];
            for (top, target) in against_floor {
                for (metric, measure, target) in [
                    (wall as fn(&Sample) -> f64, "wall", target),
                    (cpu, "CPU", Target::None),
                ] {
                    let (values, pairs) =
                        self.paired((label, top), (label, Operation::ReadFloor), metric);
                    if let Some(stats) = Stats::of(&values) {
                        ratios.push(Ratio {
                            name: format!(
                                "{} / read_floor ({measure}, interleaved pairs)",
                                top.key()
                            ),
                            scale: label,
                            stats,
                            target,
                            pairs,
                        });
                    }
                }
            }
            let same_scale = [
                (Operation::NoopPlan, Operation::PeerInSync, target(0.2)),
                (Operation::NoopApply, Operation::PeerInSync, target(0.2)),
                (
                    Operation::ApplyFromEmpty,
                    Operation::CreateFloor,
                    target(1.1),
                ),
                (
                    Operation::ApplyFromEmpty,
                    Operation::PeerFromEmpty,
                    Target::None,
                ),
                (Operation::DriftPlan, Operation::ReadFloor, Target::None),
                (Operation::DriftApply, Operation::ReadFloor, Target::None),
                (Operation::NoopPlan, Operation::InfoFloor, Target::None),
            ];
            for (top, bottom, target) in same_scale {
                let (values, pairs) = self.paired((label, top), (label, bottom), wall);
                if let Some(stats) = Stats::of(&values) {
                    ratios.push(Ratio {
                        name: format!("{} / {} (wall)", top.key(), bottom.key()),
                        scale: label,
                        stats,
                        target,
                        pairs,
                    });
                }
            }
            let absolute = |operation: Operation, metric: fn(&Sample) -> f64| {
                let values: Vec<f64> = self.of(label, operation).into_iter().map(metric).collect();
                (Stats::of(&values), values.len())
            };
            if let (Some(stats), pairs) =
                absolute(Operation::NoopApply, |s| s.server_write_bytes as f64)
            {
                ratios.push(Ratio {
                    name: "noop_apply server bytes written".into(),
                    scale: label,
                    // Every repetition must write nothing: judged on the max.
                    stats: Stats {
                        median: stats.max,
                        ..stats
                    },
                    target: target(0.0),
                    pairs,
                });
            }
            for operation in [Operation::NoopPlan, Operation::NoopPlanStdin] {
                if let (Some(stats), pairs) = absolute(operation, Sample::rss_mb) {
                    ratios.push(Ratio {
                        name: format!("{} peak RSS (MB)", operation.key()),
                        scale: label,
                        stats,
                        target: target(30.0),
                        pairs,
                    });
                }
            }
            if let (Some(stats), pairs) = absolute(Operation::NoopPlan, |s| s.load_average) {
                ratios.push(Ratio {
                    name: "load average (1 min) during the pairs".into(),
                    scale: label,
                    stats,
                    target: Target::None,
                    pairs,
                });
            }
        }
        // Growth: each operation at the next scale over the one before.
        for window in self.scales.windows(2) {
            let (small, large) = (window[0], window[1]);
            let factor = large.assets() as f64 / small.assets() as f64;
            for operation in Operation::ALL {
                let judged = small.label == Scale::W.label
                    && large.label == Scale::TRIPLE.label
                    && operation.is_jetsync();
                for (metric, measure) in [(wall as fn(&Sample) -> f64, "wall"), (cpu, "CPU")] {
                    let (values, pairs) =
                        self.paired((large.label, operation), (small.label, operation), metric);
                    let Some(stats) = Stats::of(&values) else {
                        continue;
                    };
                    ratios.push(Ratio {
                        name: format!(
                            "{} {} / {} ({measure}; assets ×{factor:.0})",
                            operation.key(),
                            large.label,
                            small.label
                        ),
                        scale: large.label,
                        stats,
                        target: if judged && measure == "wall" {
                            Target::AtMost(3.3)
                        } else {
                            Target::None
                        },
                        pairs,
                    });
                }
            }
        }
        ratios
    }

    pub fn results_json(&self) -> Value {
        let mut results = Vec::new();
        for scale in &self.scales {
            for operation in Operation::ALL {
                let samples = self.of(scale.label, operation);
                if samples.is_empty() {
                    continue;
                }
                let stats = |metric: fn(&Sample) -> f64| {
                    Stats::of(&samples.iter().map(|s| metric(s)).collect::<Vec<_>>())
                        .map(|s| s.json())
                };
                results.push(json!({
                    "scale": scale.label,
                    "assets": scale.assets(),
                    "operation": operation.key(),
                    "label": operation.label(),
                    "repetitions": samples.len(),
                    "wall_seconds": stats(wall),
                    "peak_rss_mb": stats(Sample::rss_mb),
                    "cpu_seconds": stats(|s| s.cpu_seconds),
                    "load_average": stats(|s| s.load_average),
                    "api_requests": stats(|s| s.api_requests as f64),
                    "server_cpu_seconds": stats(|s| s.server_cpu_seconds),
                    "server_write_bytes": stats(|s| s.server_write_bytes as f64),
                }));
            }
        }
        Value::Array(results)
    }

    pub fn ratios_json(&self) -> Value {
        Value::Array(
            self.ratios
                .iter()
                .map(|ratio| {
                    json!({
                        "name": ratio.name,
                        "scale": ratio.scale,
                        "value": ratio.stats.json(),
                        "pairs": ratio.pairs,
                        "target_at_most": match ratio.target {
                            Target::AtMost(limit) => json!(limit),
                            Target::None => Value::Null,
                        },
                        "met": ratio.met(),
                    })
                })
                .collect(),
        )
    }

    /// The results and the ratios as Markdown tables.
    pub fn tables(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "\n| scale | operation | runs | wall s, median (min–max) | peak RSS MB | process CPU s | JS API requests | server CPU s | server bytes written | load average |"
        );
        let _ = writeln!(
            text,
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for scale in &self.scales {
            for operation in Operation::ALL {
                let samples = self.of(scale.label, operation);
                let median = |metric: fn(&Sample) -> f64| {
                    Stats::of(&samples.iter().map(|s| metric(s)).collect::<Vec<_>>())
                };
                let Some(wall) = median(wall) else { continue };
                let value =
                    |metric: fn(&Sample) -> f64| median(metric).map_or(f64::NAN, |s| s.median);
                let bytes = median(|s| s.server_write_bytes as f64).expect("samples");
                let _ = writeln!(
                    text,
                    "| {} ({} assets) | {} | {} | {:.3} ({:.3}–{:.3}) | {:.1} | {:.2} | {:.0} | {:.2} | {} | {:.1} |",
                    scale.label,
                    scale.assets(),
                    operation.label(),
                    samples.len(),
                    wall.median,
                    wall.min,
                    wall.max,
                    value(Sample::rss_mb),
                    value(|s| s.cpu_seconds),
                    value(|s| s.api_requests as f64),
                    value(|s| s.server_cpu_seconds),
                    human_bytes(bytes.median, bytes.max),
                    value(|s| s.load_average),
                );
            }
        }
        let _ = writeln!(
            text,
            "\n| ratio | scale | pairs | median (min–max) | target | met |"
        );
        let _ = writeln!(text, "| --- | --- | --- | --- | --- | --- |");
        for ratio in &self.ratios {
            let (target, met) = match (ratio.target, ratio.met()) {
                (Target::AtMost(limit), Some(met)) => {
                    (format!("≤ {limit}"), if met { "yes" } else { "**no**" })
                }
                _ => ("".to_string(), ""),
            };
            let _ = writeln!(
                text,
                "| {} | {} | {} | {:.3} ({:.3}–{:.3}) | {target} | {met} |",
                ratio.name,
                ratio.scale,
                ratio.pairs,
                ratio.stats.median,
                ratio.stats.min,
                ratio.stats.max
            );
        }
        if self.quick {
            let _ = writeln!(
                text,
                "\n(--quick: W×0.1, one repetition, 3 pairs; the targets are judged on W only)"
            );
        }
        text
    }
}

fn human_bytes(median: f64, max: f64) -> String {
    let one = |bytes: f64| {
        if bytes >= 1e6 {
            format!("{:.1} MB", bytes / 1e6)
        } else if bytes >= 1e3 {
            format!("{:.0} kB", bytes / 1e3)
        } else {
            format!("{bytes:.0} B")
        }
    };
    if max > median {
        format!("{} (max {})", one(median), one(max))
    } else {
        one(median)
    }
}
