//! Recipes that set several options at once: the notebook's two data sizes,
//! the research project's best model, and the best recipe found here.

use super::value::choice;
use super::{Config, LrSchedule, Reset, TrainingData};

choice! {
    /// Recipes that set several options at once.
    pub enum Preset {
        /// 64 training batches of 64: the notebook's `my_computer_is_slow`.
        Slow = "slow",
        /// 128 training batches of 128: the notebook's other size.
        Fast = "fast",
        /// The best model of Ghosh et al.'s paper: 50 Hz, 8 hidden units,
        /// τ = 2 ms in both layers, 128 batches of 128, Adam at 0.001 for
        /// 100 epochs, and the firing-rate regulariser as its code computes
        /// it (strength ln(num_classes)/num_hidden, 100 to 200 spikes/s).
        ComobPaper = "comob-paper",
        /// The best recipe found here for the default stimulus (see
        /// docs/best.md): 128 batches of 128, a fresh training set each
        /// epoch, 100 hidden units with subtractive reset, τ = 1 ms in both
        /// layers, Adam at 0.003 on a cosine schedule for 30 epochs.
        Best = "best",
    }
}

impl Preset {
    /// Sets the options of this preset, leaving the others as they are.
    pub fn apply(self, cfg: &mut Config) {
        let (batches, batch_size) = match self {
            Preset::Slow => (64, 64),
            Preset::Fast | Preset::ComobPaper | Preset::Best => (128, 128),
        };
        cfg.data.n_training_batches = batches;
        cfg.data.batch_size = batch_size;
        if self == Preset::ComobPaper {
            cfg.stimulus.f = 50.0;
            cfg.network.num_hidden = 8;
            cfg.network.tau_hidden_ms = 2.0;
            cfg.network.tau_output_ms = 2.0;
            cfg.training.lr = 0.001;
            cfg.training.epochs = 100;
            let t = &mut cfg.training;
            (t.rate_reg_low_hz, t.rate_reg_high_hz) = (100.0, 200.0);
            // The project's code divides the mean over units by their
            // number once more; its paper does not.
            t.rate_reg_strength =
                (cfg.data.num_classes as f64).ln() / cfg.network.num_hidden as f64;
        }
        if self == Preset::Best {
            cfg.data.training_data = TrainingData::Fresh;
            let net = &mut cfg.network;
            net.num_hidden = 100;
            net.reset = Reset::Subtractive;
            (net.tau_hidden_ms, net.tau_output_ms) = (1.0, 1.0);
            let t = &mut cfg.training;
            (t.lr, t.lr_schedule, t.epochs) = (0.003, LrSchedule::Cosine, 30);
        }
    }
}
