//! The options whose value is one of a few names: each an enum whose
//! variants carry their command-line spelling and their meaning.

use super::value::choice;

choice! {
    /// How the random phase offset of the stimulus is drawn.
    pub enum PhaseOffset {
        /// One offset per call of `input_signal`, shared by every sample of
        /// the data set: the notebook's behaviour. The whole training set then
        /// starts at the same phase, so a network can partly learn that phase
        /// instead of the IPD, which is why test accuracy swings so much
        /// between runs.
        PerCall = "per-call",
        /// An independent offset for every sample: the network must read the
        /// IPD from the difference between the ears, whatever the phase.
        PerSample = "per-sample",
    }
}

choice! {
    /// Which random number generator drives the stimulus.
    pub enum RngMode {
        /// Fast, parallel, reproducible per seed; same distribution as numpy.
        Fast = "fast",
        /// numpy's legacy MT19937 stream, drawn in the notebook's order, so
        /// the IPDs and spikes equal the notebook's for the same seed.
        Numpy = "numpy",
    }
}

choice! {
    /// Which implementation of the network is asked for; `engine::Engine`
    /// is what runs once the device is known.
    pub enum EngineChoice {
        /// Fused on the CPU; the reference with `RngMode::Numpy` (reproducing
        /// the notebook's numbers needs its own arithmetic) or on CUDA.
        Auto = "auto",
        /// The notebook's autograd graph, step by step.
        Reference = "reference",
        /// Hand-derived forward and backward pass, CPU only.
        Fused = "fused",
    }
}

choice! {
    /// The shape of the surrogate derivative of the spike function, as
    /// snnTorch defines them, each with its slope `beta`.
    pub enum SurrogateShape {
        /// `beta·σ(beta·x)·(1-σ(beta·x))`, the notebook's.
        Sigmoid = "sigmoid",
        /// SuperSpike's fast sigmoid, `1/(1 + beta·|x|)²`.
        FastSigmoid = "fast-sigmoid",
        /// Arctan, `(beta/2)/(1 + (π/2·beta·x)²)`.
        Atan = "atan",
    }
}

choice! {
    /// What a hidden neuron's spike does to its membrane potential.
    pub enum Reset {
        /// `v' = (α·v + h)·(1 - s)`: back to zero, the notebook's.
        Multiplicative = "multiplicative",
        /// `v' = α·v + h - threshold·s`: the threshold is taken off.
        Subtractive = "subtractive",
    }
}

choice! {
    /// Which samples each training epoch sees.
    pub enum TrainingData {
        /// One training set for every epoch, the notebook's: a large network
        /// memorises its Poisson noise.
        Fixed = "fixed",
        /// A new training set each epoch, from a stream of the run's seed
        /// and the epoch: data that never repeats, in the memory of one set.
        Fresh = "fresh",
    }
}

choice! {
    /// A feature turned off (the notebook's) or on.
    pub enum Switch {
        Off = "off",
        On = "on",
    }
}

choice! {
    /// The time constants each unit of a layer starts from.
    pub enum TauInit {
        /// The layer's τ for every unit, the notebook's.
        Equal = "equal",
        /// Drawn per unit from a gamma distribution of shape 3 whose mean is
        /// the layer's τ (Perez-Nieves et al. 2021).
        Gamma = "gamma",
    }
}

choice! {
    /// How the learning rate moves over a training.
    pub enum LrSchedule {
        /// `lr` throughout, the notebook's.
        Constant = "constant",
        /// From `lr` down to `lr · lr-floor` along half a cosine, step by
        /// step over the whole run.
        Cosine = "cosine",
    }
}

choice! {
    /// How the readout's membrane trace becomes class scores.
    pub enum Readout {
        /// Summed over time, the notebook's.
        Sum = "sum",
        /// Its maximum over time.
        Max = "max",
    }
}
