//! Where tensors live: the notebook's "CUDA if available, else CPU".

use anyhow::{bail, Result};
use tch::Device;

/// Parses `auto`, `cpu`, `cuda` or `cuda:N`. `auto` picks the first GPU when
/// libtorch sees one, like `torch.cuda.is_available()` in the notebook.
pub fn select_device(spec: &str) -> Result<Device> {
    let spec = spec.trim().to_ascii_lowercase();
    let gpus = if tch::Cuda::is_available() {
        tch::Cuda::device_count() as usize
    } else {
        0
    };
    let cuda = |index: usize| -> Result<Device> {
        if gpus == 0 {
            bail!("`device` {spec}: CUDA is not available on this machine (libtorch sees no GPU); use `device` cpu or auto");
        }
        if index >= gpus {
            bail!(
                "`device` {spec}: only {gpus} CUDA device(s) present (cuda:0..cuda:{})",
                gpus - 1
            );
        }
        Ok(Device::Cuda(index))
    };
    match spec.as_str() {
        "auto" => Ok(if gpus > 0 {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }),
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(index)) => cuda(index),
            _ => bail!("`device` '{spec}' is not a device; use auto, cpu, cuda or cuda:N"),
        },
    }
}

/// A short name for reports: `cpu`, `cuda:0`.
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    }
}
