//! Dale's law: each presynaptic unit is either excitatory or inhibitory,
//! so all its outgoing weights share one sign. As in the research project
//! that grew out of the notebook, a random fraction of the input fibres and
//! of the hidden units is made inhibitory, and the network uses
//! `|w|·sign(unit)`: the trained parameters stay unconstrained and the signs
//! can never flip. The units are drawn at random per seed: a contiguous
//! block, as one version of the project took, would at one half make one
//! whole ear inhibitory.

use anyhow::Result;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tch::{Kind, Tensor};

use super::readout::Gradients;
use super::time_constants::TimeConstants;
use super::weights::Weights;
use crate::config::Config;
use crate::seed::splitmix64;

/// Keeps the draw of inhibitory units apart from every other stream of a
/// seed, so turning Dale's law on changes no other random number.
const DALE_STREAM: u64 = 0xDA1E_0000_0000_0001;

/// The sign of every presynaptic unit: +1 excitatory, -1 inhibitory.
pub struct DaleSigns {
    /// One per input fibre, `(inputs, 1)`.
    pub input: Tensor,
    /// One per hidden unit, `(hidden, 1)`.
    pub hidden: Tensor,
}

impl DaleSigns {
    /// The signs for `cfg`, or `None` when Dale's law is off.
    pub fn new(cfg: &Config) -> Result<Option<Self>> {
        let net = &cfg.network;
        if net.dale_inhibitory_input == 0.0 && net.dale_inhibitory_hidden == 0.0 {
            return Ok(None);
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(splitmix64(cfg.run.seed ^ DALE_STREAM));
        let mut column = |n: usize, fraction: f64| -> Result<Tensor> {
            let signs = random_signs(n, fraction, &mut rng);
            Ok(Tensor::f_from_slice(&signs)?.f_view([n as i64, 1])?)
        };
        Ok(Some(DaleSigns {
            input: column(cfg.input_size(), net.dale_inhibitory_input)?,
            hidden: column(net.num_hidden, net.dale_inhibitory_hidden)?,
        }))
    }

    /// The weights the network uses, `|w|·sign`, as fresh leaves that
    /// autograd can differentiate.
    pub fn effective(&self, raw: &Weights) -> Result<Weights> {
        let signed = |w: &Tensor, signs: &Tensor| -> Result<Tensor> {
            let signs = signs.f_to_device(w.device())?;
            Ok(w.f_detach()?
                .f_abs()?
                .f_mul(&signs)?
                .set_requires_grad(true))
        };
        Ok(Weights {
            w1: signed(&raw.w1, &self.input)?,
            w2: signed(&raw.w2, &self.hidden)?,
            tau: raw.tau.as_ref().map(|t| TimeConstants {
                hidden: t.hidden.shallow_clone(),
                output: t.output.shallow_clone(),
            }),
            // A hidden unit's recurrent weights leave it like its W2 row.
            w_rec: raw
                .w_rec
                .as_ref()
                .map(|w| signed(w, &self.hidden))
                .transpose()?,
            // A synapse's delay does not depend on its sign.
            delays: raw
                .delays
                .as_ref()
                .map(|d| d.with_steps(d.steps.shallow_clone())),
        })
    }

    /// Gradients with respect to the raw weights from those with respect to
    /// the effective ones: `d|w|/dw = sign(w)` (0 at 0, like autograd).
    pub fn raw_gradients(&self, raw: &Weights, effective: Gradients) -> Result<Gradients> {
        let chain = |g: &Tensor, w: &Tensor, signs: &Tensor| -> Result<Tensor> {
            Ok(g.f_mul(&signs.f_to_device(w.device())?)?
                .f_mul(&w.f_sign()?)?)
        };
        Ok(Gradients {
            loss: effective.loss,
            w1: chain(&effective.w1, &raw.w1, &self.input)?,
            w2: chain(&effective.w2, &raw.w2, &self.hidden)?,
            tau: effective.tau,
            w_rec: match (&effective.w_rec, &raw.w_rec) {
                (Some(g), Some(w)) => Some(chain(g, w, &self.hidden)?),
                _ => None,
            },
            delays: effective.delays,
        })
    }

    /// How many units of each layer are inhibitory.
    pub fn inhibitory_counts(&self) -> Result<(usize, usize)> {
        let count = |s: &Tensor| -> Result<usize> {
            Ok(s.f_lt(0.0)?.f_sum(Kind::Int64)?.f_int64_value(&[])? as usize)
        };
        Ok((count(&self.input)?, count(&self.hidden)?))
    }
}

/// `round(fraction·n)` of `n` signs, chosen at random, are -1.
fn random_signs(n: usize, fraction: f64, rng: &mut Xoshiro256PlusPlus) -> Vec<f32> {
    let inhibitory = (fraction * n as f64).round() as usize;
    let mut units: Vec<usize> = (0..n).collect();
    units.shuffle(rng);
    let mut signs = vec![1.0f32; n];
    for &unit in &units[..inhibitory.min(n)] {
        signs[unit] = -1.0;
    }
    signs
}
