//! Ablation: the network's score with hidden units silenced.
//!
//! A unit is silenced by zeroing its row of W2. The hidden layer has no
//! recurrent or lateral connections, so a unit's spikes reach nothing but
//! the readout, through that row: zeroing it is exactly setting its spikes
//! to 0, and the hidden layer runs once for all ablations.

use anyhow::Result;
use tch::{Device, Tensor};

use super::forward::{estimate, Recording};
use crate::config::Config;
use crate::labels::Score;

/// The network's score intact, with each unit silenced alone, and with
/// more and more units silenced.
#[derive(Clone, Debug, PartialEq)]
pub struct Ablation {
    pub intact: Score,
    /// By unit index: the score with that unit alone silenced.
    pub single: Vec<Score>,
    /// Units from least to most important: by the accuracy lost when
    /// silenced alone, then by the continuous error gained, then by index.
    pub importance_order: Vec<usize>,
    /// `cumulative[k]`: the score with the first k units of
    /// `importance_order` silenced, k = 0 (intact) to all units.
    pub cumulative: Vec<Score>,
}

/// Ablations of the recorded network read out through `w2`.
pub fn ablation(cfg: &Config, rec: &Recording, w2: &Tensor) -> Result<Ablation> {
    let w2 = w2.f_detach()?.f_to_device(Device::Cpu)?;
    let hidden = w2.size()[0] as usize;
    let score = |silenced: &[usize]| -> Result<Score> {
        let mut keep = vec![1f32; hidden];
        for &j in silenced {
            keep[j] = 0.0;
        }
        let keep = Tensor::f_from_slice(&keep)?.f_unsqueeze(1)?;
        let estimated = estimate(cfg, rec, &w2.f_mul(&keep)?)?;
        Ok(Score::of(
            &rec.ipd,
            &rec.true_class,
            &estimated.class,
            &estimated.decoded_ipd,
            cfg.data.num_classes,
        ))
    };
    let intact = score(&[])?;
    let single = (0..hidden)
        .map(|j| score(&[j]))
        .collect::<Result<Vec<_>>>()?;
    let mut importance_order: Vec<usize> = (0..hidden).collect();
    let lost = |j: usize| intact.accuracy_pct - single[j].accuracy_pct;
    let gained = |j: usize| single[j].abs_error_deg - intact.abs_error_deg;
    importance_order.sort_by(|&a, &b| {
        lost(a)
            .total_cmp(&lost(b))
            .then(gained(a).total_cmp(&gained(b)))
            .then(a.cmp(&b))
    });
    let cumulative = (0..=hidden)
        .map(|k| score(&importance_order[..k]))
        .collect::<Result<Vec<_>>>()?;
    Ok(Ablation {
        intact,
        single,
        importance_order,
        cumulative,
    })
}
