//! `synaptic_delays.csv`'s rows: the learned delays of a network whose
//! input synapses have them, beside the phase delays of their fibres.

use serde::Serialize;

use super::WeightMaps;
use crate::config::Config;

/// `synaptic_delays.csv`: one W1 synapse's learned delay beside the phase
/// delay of its fibre, both in ms: a delay line (Jeffress) would show as
/// delays that undo the phase delays and the IPD a unit prefers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DelayRow {
    pub ear: &'static str,
    pub fibre: usize,
    pub phase_delay_ms: f64,
    pub unit: usize,
    pub rank: usize,
    pub delay_ms: f32,
    pub weight: f32,
}

/// Each synapse's delay per ear, fibre by fibre, units in rank order; a
/// fibre's phase delay is `φ/(2πf)` of the stimulus's period.
pub fn delay_rows(cfg: &Config, maps: &WeightMaps, delays: &[Vec<Vec<f32>>; 2]) -> Vec<DelayRow> {
    let period_ms = 1e3 / cfg.stimulus.f;
    let ears = [
        ("left", &maps.w1_left, &delays[0]),
        ("right", &maps.w1_right, &delays[1]),
    ];
    let mut rows = Vec::new();
    for (ear, w, d) in ears {
        for (fibre, (weights, delays)) in w.iter().zip(d).enumerate() {
            for (rank, (&weight, &delay_ms)) in weights.iter().zip(delays).enumerate() {
                rows.push(DelayRow {
                    ear,
                    fibre,
                    phase_delay_ms: maps.delay_deg[fibre] / 360.0 * period_ms,
                    unit: maps.unit_order[rank],
                    rank,
                    delay_ms,
                    weight,
                });
            }
        }
    }
    rows
}
