//! The weights seen through the stimulus and the tuning: W1 per ear with
//! fibres by phase delay, W2, and their product W1·W2; W_rec where the
//! layer is recurrent, the time constants where each unit has its own, and
//! the synapses' delays where they have them.

use anyhow::{ensure, Result};
use tch::{Device, Tensor};

use crate::config::Config;
use crate::host::{rows, to_vec};
use crate::labels::degrees;
use crate::model::Weights;
use crate::stimulus::phase_delays;

/// Weight matrices with hidden units in a chosen order (columns of the W1
/// maps, rows of W2).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightMaps {
    /// Phase delay of fibre k of either ear, degrees. `stimulus` lays the
    /// fibres out by increasing delay, so fibre index is delay order.
    pub delay_deg: Vec<f64>,
    /// Unit index of each rank (column) of the maps.
    pub unit_order: Vec<usize>,
    /// `[fibre][rank]` W1 from the first ear, the one without the IPD
    /// ("left").
    pub w1_left: Vec<Vec<f32>>,
    /// `[fibre][rank]` W1 from the second ear, which lags by the IPD
    /// ("right").
    pub w1_right: Vec<Vec<f32>>,
    /// `[rank][class]` W2.
    pub w2: Vec<Vec<f32>>,
    /// `[fibre][class]` W1·W2 from the left ear: how one input spike would
    /// push each class if the hidden layer were linear. It ignores the
    /// threshold, so it shows the direction of each fibre's influence, not
    /// its size.
    pub input_class_left: Vec<Vec<f32>>,
    /// `[fibre][class]` W1·W2 from the right ear.
    pub input_class_right: Vec<Vec<f32>>,
    /// `[rank][rank]` W_rec, from the unit of the row's rank to the unit of
    /// the column's, where the layer is recurrent.
    pub w_rec: Option<Vec<Vec<f32>>>,
    /// Each unit's membrane time constant, ms, hidden units by index and
    /// readout units by class, where the network has its own per unit.
    pub tau_ms: Option<[Vec<f32>; 2]>,
    /// `[ear][fibre][rank]` each W1 synapse's delay in whole steps, as ms,
    /// left ear first, where the synapses have delays.
    pub delays_ms: Option<[Vec<Vec<f32>>; 2]>,
}

/// The maps with hidden units in `unit_order` (for example
/// `HiddenTuning::order`), which must list every unit once.
pub fn weight_maps(cfg: &Config, w: &Weights, unit_order: &[usize]) -> Result<WeightMaps> {
    w.check_shapes(cfg)?;
    let mut sorted = unit_order.to_vec();
    sorted.sort_unstable();
    ensure!(
        sorted == (0..cfg.network.num_hidden).collect::<Vec<_>>(),
        "the unit order must list each of the {} hidden units once",
        cfg.network.num_hidden
    );
    let w = w.detached_copy(Device::Cpu)?;
    let order = Tensor::f_from_slice(&unit_order.iter().map(|&j| j as i64).collect::<Vec<_>>())?;
    let w1 = w.w1.f_index_select(1, &order)?;
    let w2 = w.w2.f_index_select(0, &order)?;
    let product = w.w1.f_matmul(&w.w2)?;
    let anf = cfg.stimulus.anf_per_ear as i64;
    let ear = |t: &Tensor, e: i64| -> Result<Vec<Vec<f32>>> {
        rows::<f32>(&t.f_narrow(0, e * anf, anf)?)
    };
    Ok(WeightMaps {
        delay_deg: phase_delays(cfg.stimulus.anf_per_ear)
            .into_iter()
            .map(degrees)
            .collect(),
        unit_order: unit_order.to_vec(),
        w1_left: ear(&w1, 0)?,
        w1_right: ear(&w1, 1)?,
        w2: rows::<f32>(&w2)?,
        input_class_left: ear(&product, 0)?,
        input_class_right: ear(&product, 1)?,
        w_rec: match &w.w_rec {
            Some(w_rec) => Some(rows::<f32>(
                &w_rec.f_index_select(0, &order)?.f_index_select(1, &order)?,
            )?),
            None => None,
        },
        tau_ms: match &w.tau {
            Some(tau) => Some([to_vec(&tau.hidden)?, to_vec(&tau.output)?]),
            None => None,
        },
        delays_ms: match &w.delays {
            Some(d) => {
                let ms = d
                    .whole_steps()?
                    .f_to_kind(tch::Kind::Float)?
                    .f_mul_scalar(cfg.stimulus.dt_ms)?
                    .f_index_select(1, &order)?;
                Some([ear(&ms, 0)?, ear(&ms, 1)?])
            }
            None => None,
        },
    })
}
