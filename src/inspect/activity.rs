//! Spike rasters and membrane traces of the hidden layer for a few samples
//! spread over the IPD range.

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use super::forward::Recording;
use crate::config::Config;
use crate::engine::reference::hidden_layer;
use crate::labels::degrees;
use crate::model::Weights;
use crate::stimulus::Dataset;

/// Samples that `inspect` shows.
pub const ACTIVITY_SAMPLES: usize = 8;

/// The hidden layer on one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleActivity {
    /// Index in the data set.
    pub sample: usize,
    pub ipd_deg: f64,
    pub true_class: usize,
    /// The network's estimate.
    pub predicted_class: usize,
    /// `[step][unit]`, as `engine::reference::HiddenTrace::spikes`.
    pub spikes: Vec<Vec<bool>>,
    /// `[step][unit]` potential, as `HiddenTrace::membrane`.
    pub membrane: Vec<Vec<f32>>,
}

/// The hidden layer on samples ordered by IPD.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    /// Time of each step in ms.
    pub time_ms: Vec<f64>,
    pub samples: Vec<SampleActivity>,
}

/// Runs the hidden layer again on `count` samples (all of them if there are
/// fewer), each the closest to one of `count` IPDs evenly spread over
/// (-90°, 90°), and keeps its spikes and potentials. `predicted` is the
/// network's estimate for every sample of `rec`.
pub fn hidden_activity(
    cfg: &Config,
    w: &Weights,
    data: &Dataset,
    rec: &Recording,
    predicted: &[usize],
    count: usize,
) -> Result<Activity> {
    ensure!(
        predicted.len() == rec.len() && data.len() == rec.len(),
        "{} estimates and {} samples for a recording of {}",
        predicted.len(),
        data.len(),
        rec.len()
    );
    let chosen = spread_samples(&rec.ipd, count);
    let index = Tensor::f_from_slice(&chosen.iter().map(|&i| i as i64).collect::<Vec<_>>())?;
    let input = data
        .spikes
        .f_to_device(Device::Cpu)?
        .f_index_select(0, &index)?
        .f_to_kind(Kind::Float)?;
    let _no_grad = tch::no_grad_guard();
    let trace = hidden_layer(&input, &w.detached_copy(Device::Cpu)?, cfg)?;
    let spikes = per_sample(&trace.spikes)?;
    let membrane = per_sample(&trace.membrane)?;
    let samples = chosen
        .iter()
        .zip(spikes)
        .zip(membrane)
        .map(|((&i, s), v)| SampleActivity {
            sample: i,
            ipd_deg: degrees(rec.ipd[i]),
            true_class: rec.true_class[i],
            predicted_class: predicted[i],
            spikes: s
                .iter()
                .map(|row| row.iter().map(|&x| x > 0.0).collect())
                .collect(),
            membrane: v,
        })
        .collect();
    Ok(Activity {
        time_ms: (0..cfg.duration_steps())
            .map(|t| t as f64 * cfg.stimulus.dt_ms)
            .collect(),
        samples,
    })
}

/// Distinct samples closest to `count` evenly spread IPDs, by IPD.
fn spread_samples(ipd: &[f64], count: usize) -> Vec<usize> {
    let mut free: Vec<usize> = (0..ipd.len()).collect();
    let count = count.min(ipd.len());
    let mut chosen = Vec::with_capacity(count);
    for k in 0..count {
        let target = ((k as f64 + 0.5) / count as f64 - 0.5) * std::f64::consts::PI;
        let distance = |i: usize| (ipd[i] - target).abs();
        let nearest =
            (0..free.len()).min_by(|&a, &b| distance(free[a]).total_cmp(&distance(free[b])));
        if let Some(at) = nearest {
            chosen.push(free.swap_remove(at));
        }
    }
    chosen.sort_by(|&a, &b| ipd[a].total_cmp(&ipd[b]).then(a.cmp(&b)));
    chosen
}

/// `(samples, steps, units)` as `[sample][step][unit]`.
fn per_sample(t: &Tensor) -> Result<Vec<Vec<Vec<f32>>>> {
    let size = t.size();
    let (steps, units) = (size[1] as usize, size[2] as usize);
    let flat = Vec::<f32>::try_from(&t.f_contiguous()?.f_view([-1])?)?;
    Ok(flat
        .chunks((steps * units).max(1))
        .map(|sample| sample.chunks(units.max(1)).map(<[f32]>::to_vec).collect())
        .collect())
}
