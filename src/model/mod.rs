//! The network's facts, shared by both engines: the LIF hidden layer
//! (`lif`), the spike function's surrogate gradient (`surrogate`), the
//! leaky readout and the loss (`readout`), and the weights (`weights`).

pub mod lif;
pub mod readout;
pub mod surrogate;
pub mod weights;

pub use lif::LifParams;
pub use readout::{Gradients, ReadoutParams};
pub use surrogate::Surrogate;
pub use weights::{batch_and_steps, init_weight_matrices, Weights};
