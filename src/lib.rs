//! snnloc: spiking neural networks trained with surrogate gradient descent
//! to localise sounds from their interaural phase difference (IPD), a tch
//! port of the SNN sound-localisation teaching notebook.
//!
//! Each idea of the notebook has one home: the stimulus (`stimulus`),
//! input spikes as dense tensors or lists of active inputs (`spikes`),
//! classes and how well class estimates localise (`labels`), mini-batches
//! (`data`), the network's facts — LIF neuron, surrogate gradient, readout
//! and loss, weights, each as a tensor form, a scalar form and its partial
//! derivatives — (`model`), the two engines that run it, the notebook's
//! autograd graph and a fused hand-derived twin (`engine`), the optimiser
//! (`optim`), training (`train`), analysis (`analysis`), a whole experiment
//! (`experiment`) and what it measured (`metrics`), the folder a run lives
//! in (`run_folder`), the ideal observer of the stimulus (`ideal`), what a
//! trained network learned (`inspect`), figures (`plots`) and parameter
//! sweeps (`sweep`). Around them: every option, defined once (`config`),
//! device choice (`device`), seeding (`seed`, `numpy_random`), files
//! (`output`), error wording (`error`), tensors' memory seen from Rust
//! (`host`), glibc malloc's settings (`malloc`), hot loops compiled per
//! vector level (`vectors`) and arithmetic that gives the same bits on every
//! processor (`portable`). The command line is the
//! binary's (`src/main.rs` and `src/cli/`); this library knows nothing of
//! flags.

// First, so that the modules below can use its macro.
#[macro_use]
pub mod vectors;

pub mod analysis;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod faults;
pub mod host;
pub mod ideal;
pub mod inspect;
pub mod labels;
pub mod machine;
pub mod malloc;
pub mod metrics;
pub mod model;
pub mod numpy_random;
pub mod optim;
pub mod output;
pub mod plots;
pub mod portable;
pub mod run_folder;
pub mod seed;
pub mod spikes;
pub mod staging;
pub mod stimulus;
pub mod sweep;
pub mod train;
