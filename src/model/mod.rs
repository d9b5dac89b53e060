//! The network's facts, shared by both engines: the LIF hidden layer
//! (`lif`) and its adaptive form (`alif`), the spike function's surrogate gradient (`surrogate`), the
//! leaky readout and the loss (`readout`), the firing-rate regulariser
//! (`regulariser`), Dale's law (`dale`), per-unit time constants
//! (`time_constants`), learnable synaptic delays (`delays`) and the
//! trained parameters (`weights`).

pub mod alif;
pub mod dale;
pub mod delays;
pub mod lif;
pub mod readout;
pub mod regulariser;
pub mod surrogate;
pub mod time_constants;
pub mod weights;

pub use alif::Adaptation;
pub use dale::DaleSigns;
pub use delays::Delays;
pub use lif::LifParams;
pub use readout::{Gradients, ReadoutParams};
pub use regulariser::RateRegulariser;
pub use surrogate::Surrogate;
pub use time_constants::{Decay, TimeConstants};
pub use weights::{batch_and_steps, init_weight_matrices, Weights};
