//! The firing-rate regulariser of the research project that grew out of the
//! notebook (Ghosh et al.): it pushes each hidden unit's rate below a band,
//! `strength · mean_m((relu(r_m - low)/(high - low))²)`, where `r_m` is unit
//! m's spikes over the batch and the stimulus, per sample and second.
//!
//! The project's code divides that mean by the number of hidden units once
//! more (its paper writes Σ_m/N_h, a plain mean): a strength of
//! `ln(num_classes)/num_hidden` is the code's form, `ln(num_classes)` the
//! paper's.

use anyhow::Result;
use tch::{Kind, Tensor};

use crate::config::Config;
use crate::portable;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateRegulariser {
    pub strength: f64,
    pub low_hz: f64,
    pub high_hz: f64,
    /// Stimulus duration in seconds.
    pub duration: f64,
}

impl RateRegulariser {
    /// The regulariser of `cfg`, or `None` where it is off.
    pub fn new(cfg: &Config) -> Option<Self> {
        let t = &cfg.training;
        (t.rate_reg_strength > 0.0).then(|| RateRegulariser {
            strength: t.rate_reg_strength,
            low_hz: t.rate_reg_low_hz,
            high_hz: t.rate_reg_high_hz,
            duration: cfg.duration(),
        })
    }

    /// The penalty of hidden spikes `(batch, steps, hidden)`, differentiable.
    pub fn penalty(&self, spikes: &Tensor) -> Result<Tensor> {
        let batch = spikes.size()[0] as f64;
        let rates = spikes
            .f_sum_dim_intlist([0, 1].as_slice(), false, None::<Kind>)?
            .f_div_scalar(batch * self.duration)?;
        let excess = rates
            .f_sub_scalar(self.low_hz)?
            .f_relu()?
            .f_div_scalar(self.high_hz - self.low_hz)?;
        Ok(excess
            .f_square()?
            .f_mean(None::<Kind>)?
            .f_mul_scalar(self.strength)?)
    }

    /// `penalty` from each unit's spike count over a batch of `batch`
    /// samples, in float64 in unit order: the fused engine's form, the same
    /// bits on every processor.
    pub fn penalty_of_counts(&self, counts: &[f32], batch: usize) -> f64 {
        let per_rate = 1.0 / (batch as f64 * self.duration);
        let band = self.high_hz - self.low_hz;
        let squares = counts.iter().map(|&count| {
            let excess = (count as f64 * per_rate - self.low_hz).max(0.0) / band;
            excess * excess
        });
        self.strength * portable::sum(squares) / counts.len() as f64
    }

    /// `∂penalty/∂s` for every spike of unit m, given each unit's spike
    /// count over a batch of `batch` samples: the same for every sample and
    /// step.
    pub fn spike_gradient(&self, counts: &[f32], batch: usize) -> Vec<f32> {
        let per_rate = 1.0 / (batch as f64 * self.duration);
        let band = self.high_hz - self.low_hz;
        let units = counts.len() as f64;
        counts
            .iter()
            .map(|&count| {
                let excess = (count as f64 * per_rate - self.low_hz).max(0.0);
                (self.strength / units * 2.0 * excess / (band * band) * per_rate) as f32
            })
            .collect()
    }
}
