//! snnloc's integration tests, as one test crate: one build and one link
//! against libtorch instead of one per file, which took a fifth of a fresh
//! `cargo test --release` on 2 cores. Each module is one concern.

mod common;

mod cli;
mod crosscheck;
mod delays;
mod engines_agree;
mod ideal;
mod inspect;
mod layout;
mod limits;
mod model;
mod model_options;
mod numpy_random;
mod options;
mod plots;
mod refusals;
mod resume;
mod same_bits_everywhere;
mod spikes;
mod stimulus;
mod sweep;
mod sweep_grid;
mod sweep_processes;
mod training;
mod transactions;
