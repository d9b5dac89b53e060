//! snnloc: spiking neural networks trained with surrogate gradient descent
//! to localise sounds from their interaural phase difference (IPD), a tch
//! port of the SNN sound-localisation teaching notebook.
//!
//! Each idea of the notebook has one home: the stimulus (`stimulus`),
//! classes (`labels`), mini-batches (`data`), the spike nonlinearity
//! (`surrogate`), the network and its LIF update (`network`, with a fast
//! hand-derived twin in `fused`), the optimiser (`optim`), training
//! (`train`), analysis (`analysis`), a whole experiment (`experiment`),
//! figures (`plots`) and parameter sweeps (`sweep`). Around them: the config
//! (`config`), device choice (`device`), seeding (`seed`, `numpy_random`),
//! files (`output`) and the command line (`cli`, `commands`).

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod device;
pub mod engine;
pub mod experiment;
pub mod fused;
pub mod inspect;
pub mod labels;
pub mod network;
pub mod numpy_random;
pub mod optim;
pub mod output;
pub mod plots;
pub mod seed;
pub mod stimulus;
pub mod surrogate;
pub mod sweep;
pub mod train;
