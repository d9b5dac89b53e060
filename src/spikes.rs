//! Input spikes as the engines read them.
//!
//! The stimulus is binary and sparse: at the default envelope power about
//! a fifth of the fibres fire at a step, and at power 100 one in thirty.
//! Besides the dense `(batch, steps, inputs)` tensor that libtorch
//! multiplies, a data set can therefore be read as the list of inputs
//! active at each step of each sample (`ActiveInputs`), built once per data
//! set. The fused engine then forms its input products by adding rows of
//! W1 instead of multiplying by zeros.

use std::sync::OnceLock;

use anyhow::{bail, ensure, Result};
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use crate::host;

/// The most inputs a list can name (they are stored as `u16`).
pub const MAX_INPUTS: usize = 1 << 16;

const NOT_BINARY: &str = "input spikes must all be 0 or 1";

/// The active inputs of every step of every sample of a data set: the
/// compressed rows of its `(samples, steps, inputs)` 0/1 spikes.
pub struct ActiveInputs {
    steps: usize,
    inputs: usize,
    /// Each sample's active inputs, listed by step.
    samples: Vec<Lists>,
    /// Each sample's spike steps listed by input, for the W1 gradient:
    /// made on first use, so only for the training set, and after its
    /// dense spikes are freed.
    by_input: OnceLock<Vec<Lists>>,
}

/// Lists of indices, ascending within each: list k is
/// `indices[starts[k]..starts[k + 1]]`.
struct Lists {
    starts: Vec<u32>,
    indices: Vec<u16>,
}

impl Lists {
    #[inline]
    fn get(&self, k: usize) -> &[u16] {
        &self.indices[self.starts[k] as usize..self.starts[k + 1] as usize]
    }

    /// For each index below `width`, the lists it is in, ascending: the
    /// transpose, by counting sort.
    fn transpose(&self, width: usize) -> Lists {
        let mut starts = vec![0u32; width + 1];
        for &i in &self.indices {
            starts[i as usize + 1] += 1;
        }
        for i in 1..=width {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut indices = vec![0u16; self.indices.len()];
        for k in 0..self.starts.len() - 1 {
            for &i in self.get(k) {
                let at = &mut next[i as usize];
                indices[*at as usize] = k as u16;
                *at += 1;
            }
        }
        Lists { starts, indices }
    }
}

impl ActiveInputs {
    /// Lists the active inputs of `(samples, steps, inputs)` spikes of any
    /// kind on any device. Every value must be 0 or 1: the products this
    /// feeds add weights, they do not multiply them.
    pub fn new(spikes: &Tensor) -> Result<Self> {
        let size = spikes.size();
        ensure!(
            size.len() == 3,
            "input spikes must be (samples, steps, inputs), got {size:?}"
        );
        let [_, steps, inputs] = [size[0], size[1], size[2]].map(|d| d as usize);
        if inputs > MAX_INPUTS {
            bail!("{inputs} inputs are more than active-input lists index ({MAX_INPUTS})");
        }
        let bytes = as_bytes(spikes)?;
        let bytes = host::slice::<u8>(&bytes)?;
        let samples = if steps * inputs == 0 {
            let empty = || Lists {
                starts: vec![0; steps + 1],
                indices: Vec::new(),
            };
            (0..size[0]).map(|_| empty()).collect()
        } else {
            bytes
                .par_chunks(steps * inputs)
                .map(|sample| Lists::of_rows(sample, inputs))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| anyhow::anyhow!("{NOT_BINARY}"))?
        };
        Ok(ActiveInputs {
            steps,
            inputs,
            samples,
            by_input: OnceLock::new(),
        })
    }

    pub fn samples(&self) -> usize {
        self.samples.len()
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Every sample, in order.
    pub fn all(&self) -> ActiveBatch<'_> {
        ActiveBatch {
            set: self,
            samples: (0..self.samples()).collect(),
        }
    }

    /// The inputs active at `step` of `sample`, ascending.
    pub fn row(&self, sample: usize, step: usize) -> &[u16] {
        self.samples[sample].get(step)
    }

    /// The steps at which each input of `sample` fired, ascending; `None`
    /// where there are more steps than a list can name.
    fn by_input(&self) -> Option<&[Lists]> {
        (self.steps <= MAX_INPUTS).then(|| {
            let lists = self.by_input.get_or_init(|| {
                self.samples
                    .par_iter()
                    .map(|rows| rows.transpose(self.inputs))
                    .collect()
            });
            lists.as_slice()
        })
    }

    /// The chosen samples in this order, as `(batch, steps, inputs)` 0/1
    /// float32.
    pub fn dense(&self, samples: &[usize]) -> Result<Tensor> {
        let mut dense = host::empty::<f32>(&[samples.len(), self.steps, self.inputs])?;
        let out = host::slice_mut::<f32>(&mut dense)?;
        out.fill(0.0);
        for (b, &sample) in samples.iter().enumerate() {
            for step in 0..self.steps {
                let row = &mut out[(b * self.steps + step) * self.inputs..][..self.inputs];
                for &i in self.row(sample, step) {
                    row[i as usize] = 1.0;
                }
            }
        }
        Ok(dense)
    }
}

/// For each byte, the positions of its set bits and, last, their count
/// (baseline x86-64 has no population-count instruction).
static BIT_POSITIONS: [[u16; 9]; 256] = {
    let mut table = [[0u16; 9]; 256];
    let mut byte = 0;
    while byte < 256 {
        let (mut bit, mut n) = (0, 0);
        while bit < 8 {
            if byte & (1 << bit) != 0 {
                table[byte][n] = bit as u16;
                n += 1;
            }
            bit += 1;
        }
        table[byte][8] = n as u16;
        byte += 1;
    }
    table
};

impl Lists {
    /// The rows of one sample's `(steps, width)` bytes; `None` if a byte
    /// is neither 0 nor 1.
    ///
    /// Eight bytes at a time: their low bits gathered into one byte by a
    /// multiplication (byte i's bit lands on bit 56 + i, and no two partial
    /// products meet), then a table gives those bits' positions. Positions
    /// are written eight at a time and kept up to the count, since spikes
    /// are too irregular for branches.
    fn of_rows(bytes: &[u8], width: usize) -> Option<Self> {
        const GATHER: u64 = 0x0102_0408_1020_4080;
        let mut scratch = vec![0u16; width + 8];
        let mut starts = Vec::with_capacity(bytes.len() / width + 1);
        let mut indices = Vec::new();
        let mut stray = 0u64;
        starts.push(0);
        for row in bytes.chunks(width) {
            let mut n = 0;
            let words = row.chunks_exact(8);
            let tail = words.remainder();
            for (w, word) in words.enumerate() {
                let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
                stray |= word & !0x0101_0101_0101_0101;
                let positions = &BIT_POSITIONS[(word.wrapping_mul(GATHER) >> 56) as usize];
                let base = (8 * w) as u16;
                for (out, p) in scratch[n..n + 8].iter_mut().zip(positions) {
                    *out = base + p;
                }
                n += positions[8] as usize;
            }
            let base = width - tail.len();
            for (i, &b) in tail.iter().enumerate() {
                stray |= (b & !1) as u64;
                scratch[n] = (base + i) as u16;
                n += b as usize & 1;
            }
            indices.extend_from_slice(&scratch[..n]);
            starts.push(indices.len() as u32);
        }
        // Grown by doubling, the list would hold up to twice its length.
        indices.shrink_to_fit();
        (stray == 0).then_some(Lists { starts, indices })
    }
}

/// 0/1 spikes as a contiguous CPU tensor of bytes (the data sets' own kind,
/// so usually no copy).
fn as_bytes(spikes: &Tensor) -> Result<Tensor> {
    if spikes.kind() != Kind::Uint8 {
        let binary = spikes
            .f_eq(0.0)?
            .f_logical_or(&spikes.f_eq(1.0)?)?
            .f_all()?;
        ensure!(binary.f_int64_value(&[])? == 1, "{NOT_BINARY}");
    }
    Ok(spikes
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Uint8)?
        .f_contiguous()?)
}

/// Samples of a data set read through its active inputs, in batch order.
pub struct ActiveBatch<'a> {
    set: &'a ActiveInputs,
    samples: Vec<usize>,
}

impl ActiveBatch<'_> {
    pub fn batch(&self) -> usize {
        self.samples.len()
    }

    pub fn steps(&self) -> usize {
        self.set.steps
    }

    pub fn inputs(&self) -> usize {
        self.set.inputs
    }

    /// Every `(sample, step)` row's active inputs, batch-major as in the
    /// dense `(batch, steps, inputs)` layout.
    pub fn rows(&self) -> impl Iterator<Item = &[u16]> + '_ {
        self.samples
            .iter()
            .flat_map(move |&s| (0..self.set.steps).map(move |t| self.set.row(s, t)))
    }

    /// The batch as `(batch, steps, inputs)` 0/1 float32.
    pub fn dense(&self) -> Result<Tensor> {
        self.set.dense(&self.samples)
    }

    /// Each sample's spike steps by input, in batch order; `None` where
    /// there are more steps than a list can name.
    pub fn steps_by_input(&self) -> Option<Vec<StepsByInput<'_>>> {
        let lists = self.set.by_input()?;
        Some(
            self.samples
                .iter()
                .map(|&s| StepsByInput(&lists[s]))
                .collect(),
        )
    }
}

/// One sample's spike steps, listed by input.
#[derive(Clone, Copy)]
pub struct StepsByInput<'a>(&'a Lists);

impl<'a> StepsByInput<'a> {
    /// The steps at which `input` fired, ascending.
    #[inline]
    pub fn of(self, input: usize) -> &'a [u16] {
        self.0.get(input)
    }
}

/// One batch of input spikes.
pub enum Spikes<'a> {
    /// `(batch, steps, inputs)` float32, on the run's device.
    Dense(Tensor),
    /// Samples of a data set listed by `ActiveInputs`.
    Active(ActiveBatch<'a>),
}

impl Spikes<'_> {
    /// `[batch, steps, inputs]`.
    pub fn shape(&self) -> Result<[usize; 3]> {
        Ok(match self {
            Spikes::Dense(t) => match t.size()[..] {
                [batch, steps, inputs] => [batch, steps, inputs].map(|d| d as usize),
                ref other => bail!("input spikes must be (batch, steps, inputs), got {other:?}"),
            },
            Spikes::Active(b) => [b.batch(), b.steps(), b.inputs()],
        })
    }

    /// The spikes as a `(batch, steps, inputs)` float32 tensor.
    pub fn dense(&self) -> Result<Tensor> {
        match self {
            Spikes::Dense(t) => Ok(t.shallow_clone()),
            Spikes::Active(b) => b.dense(),
        }
    }
}

impl From<&Tensor> for Spikes<'_> {
    fn from(dense: &Tensor) -> Self {
        Spikes::Dense(dense.shallow_clone())
    }
}

/// A data set's `(samples, steps, inputs)` spikes, prepared once for the
/// engine that reads them (`Engine::spike_set`).
pub enum SpikeSet {
    /// Gathered and widened to float32 per batch.
    Dense(Tensor),
    Active(ActiveInputs),
}

impl SpikeSet {
    pub fn len(&self) -> usize {
        match self {
            SpikeSet::Dense(t) => t.size()[0] as usize,
            SpikeSet::Active(a) => a.samples(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples at `index` (int64, on any device), in that order.
    pub fn batch(&self, index: &Tensor) -> Result<Spikes<'_>> {
        Ok(match self {
            SpikeSet::Dense(t) => {
                Spikes::Dense(t.f_index_select(0, index)?.f_to_kind(Kind::Float)?)
            }
            SpikeSet::Active(set) => {
                let samples = Vec::<i64>::try_from(&index.f_to_device(Device::Cpu)?)?;
                let samples: Vec<usize> = samples.into_iter().map(|s| s as usize).collect();
                ensure!(
                    samples.iter().all(|&s| s < set.samples()),
                    "a batch names a sample beyond the {} of its data set",
                    set.samples()
                );
                Spikes::Active(ActiveBatch { set, samples })
            }
        })
    }
}
