//! Files a run leaves behind. Every file is written to a temporary name in
//! its folder and renamed into place, so a reader (or a killed run) never
//! sees half a file; what a killed process left under such a name is
//! deleted the next time that file is written. A folder of several files
//! is written as one transaction by `staging`.

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{Device, Kind, Tensor};

use crate::config::Config;
use crate::model::Weights;
use crate::{faults, staging};

/// Lets `write` produce the file at a fresh temporary path beside `path`,
/// then syncs it and renames it onto `path`, so readers see the old file or
/// the whole new one. The temporary name keeps `path`'s extension (plotters
/// picks the image format from it) and is unique per process and call. On
/// failure nothing is left behind. Errors do not name `path`: callers say
/// what they were writing.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().context("the path does not name a file")?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".tmp-");
    for leftover in staging::dead_leftovers(dir, &prefix) {
        let _ = fs::remove_file(leftover);
    }
    prefix.push(format!("{}-", std::process::id()));
    let mut suffix = OsString::new();
    if let Some(ext) = path.extension() {
        suffix.push(".");
        suffix.push(ext);
    }
    // `make_in` rather than `tempfile_in`, which creates files readable by
    // their owner only (the rename would carry that onto the output) and puts
    // the temporary name, meaningless to the user, into its errors.
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(&suffix)
        .make_in(dir, |tmp| {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(tmp)
        })?;
    write(tmp.path())?;
    faults::point("written");
    // The writer wrote through the path, into this same file.
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    faults::point("renamed");
    Ok(())
}

pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |tmp| Ok(fs::write(tmp, bytes)?))
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_bytes(path, text.as_bytes())
}

/// A CSV file of serde records: the header is the record's field names.
pub fn write_csv_rows<T: serde::Serialize>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<()> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.serialize(row)?;
    }
    write_bytes(path, &out.into_inner().map_err(|e| e.into_error())?)
}

/// A CSV file from a header and rows of already formatted cells, for tables
/// whose columns depend on the data (a matrix).
pub fn write_csv(
    path: &Path,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<()> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header)?;
    for row in rows {
        out.write_record(&row)?;
    }
    write_bytes(path, &out.into_inner().map_err(|e| e.into_error())?)
}

/// A square matrix as CSV, rows and columns labelled by class.
pub fn write_matrix_csv<T: ToString>(path: &Path, corner: &str, matrix: &[Vec<T>]) -> Result<()> {
    let labels: Vec<String> = (0..matrix.len()).map(|j| format!("true_{j}")).collect();
    let header: Vec<&str> = std::iter::once(corner)
        .chain(labels.iter().map(String::as_str))
        .collect();
    let rows = matrix.iter().enumerate().map(|(i, row)| {
        std::iter::once(format!("estimated_{i}"))
            .chain(row.iter().map(ToString::to_string))
            .collect()
    });
    write_csv(path, &header, rows)
}

/// Creates the output folder and proves it writable with a temporary file,
/// written and removed, so that a bad `out` fails before any work rather
/// than after it.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    check_folder_path(dir)?;
    create_dir(dir)?;
    let probe = || -> std::io::Result<()> {
        let mut file = tempfile::Builder::new()
            .prefix(".probe-")
            .tempfile_in(dir)?;
        std::io::Write::write_all(&mut file, b"snnloc")?;
        file.as_file().sync_all()?;
        file.close()
    };
    probe().with_context(|| format!("`out` {}: cannot write into it", dir.display()))
}

/// Whether `dir`, an `out` to be written, exists; an error where it is a
/// link to nothing or something other than a folder.
pub fn check_folder_path(dir: &Path) -> Result<bool> {
    let shown = dir.display();
    match dir.symlink_metadata() {
        Err(_) => Ok(false),
        Ok(_) if !dir.exists() => {
            bail!("`out` {shown}: a symbolic link to nothing; remove it or choose another `out`")
        }
        Ok(_) if !dir.is_dir() => {
            bail!("`out` {shown}: exists and is not a folder; choose another `out`")
        }
        Ok(_) => Ok(true),
    }
}

pub fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output folder {}", dir.display()))
}

/// Saves the parameters as float32 safetensors named as in
/// `Weights::named` (`W1`, `W2`, and the time constants where each unit
/// has its own), readable by Python's `safetensors.torch.load_file`.
pub fn save_weights(path: &Path, w: &Weights) -> Result<()> {
    write_safetensors(path, &w.named(), None)
        .with_context(|| format!("cannot write weights {}", path.display()))
}

/// Header metadata of a safetensors file: text keys and values.
pub type Metadata = std::collections::HashMap<String, String>;

/// Float32 tensors, and text metadata in the header, as a safetensors file,
/// written atomically: serialised in memory, so that a failed write is a
/// plain I/O error.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, &Tensor)],
    metadata: Option<Metadata>,
) -> Result<()> {
    use safetensors::tensor::{serialize, Dtype, TensorView};
    let mut data = Vec::new();
    for (_, t) in tensors {
        let t = t.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?;
        let bytes: Vec<u8> = crate::host::slice::<f32>(&t)?
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        data.push((t.size(), bytes));
    }
    let mut views = Vec::new();
    for ((name, _), (shape, bytes)) in tensors.iter().zip(&data) {
        let shape = shape.iter().map(|&d| d as usize).collect();
        views.push((*name, TensorView::new(Dtype::F32, shape, bytes)?));
    }
    let file = serialize(views, &metadata)?;
    write_atomically(path, |tmp| Ok(fs::write(tmp, &file)?))
}

/// A safetensors file's header metadata, if it has any.
pub fn safetensors_metadata(path: &Path) -> Result<Option<Metadata>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a safetensors file ({e:?})", path.display()))?;
    Ok(header.metadata().clone())
}

/// Loads weights saved by `save_weights` (or by Python) and checks that they
/// fit the config.
pub fn load_weights(path: &Path, cfg: &Config, device: Device) -> Result<Weights> {
    if path.is_dir() {
        bail!(
            "`weights` {}: a folder; give the weights.safetensors in it",
            path.display()
        );
    }
    if !path.is_file() {
        bail!("`weights` {}: no such file", path.display());
    }
    let tensors = Tensor::read_safetensors(path).map_err(|e| {
        let reason = e.to_string();
        anyhow::anyhow!(
            "`weights` {}: not a readable safetensors file ({})",
            path.display(),
            reason.lines().next().unwrap_or("unknown error")
        )
    })?;
    let find = |name: &str| -> Result<Tensor> {
        let (_, t) = tensors.iter().find(|(n, _)| n == name).with_context(|| {
            format!(
                "`weights` {}: no tensor named {name} (expected W1, W2, with per-unit time constants tau_hidden_ms and tau_output_ms, with a recurrent layer W_rec, and with delays delay_steps)",
                path.display()
            )
        })?;
        if t.kind() != Kind::Float {
            bail!(
                "`weights` {}: {name} is {:?}, expected float32",
                path.display(),
                t.kind()
            );
        }
        Ok(t.f_to_device(device)?)
    };
    let w = Weights::from_named(cfg, find)
        .with_context(|| format!("`weights` {} does not fit the config", path.display()))?;
    if let Some(name) = w.first_not_finite()? {
        bail!(
            "`weights` {}: {name} holds NaN or infinite values, which no network computes with; retrain with a lower `lr`",
            path.display()
        );
    }
    Ok(w)
}
