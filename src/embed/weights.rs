//! Reading the f32 tensors of a `model.safetensors` file a piece at a time: the header is
//! parsed by the `safetensors` crate's own `Metadata`, and each tensor's bytes are read from
//! the file in pieces of [`PIECE`] bytes and decoded as they arrive.
//!
//! Why not `SafeTensors::deserialize`: it wants the whole file in one buffer (90 MB for
//! MiniLM). At start-up that buffer was alive while the model was decoded and packed, and
//! since the model and the index load side by side it added to the index's own peak. Read
//! this way, the model never holds more than one piece of the file (and the tensor being
//! decoded) at a time. No memory map: the crates that wrap `mmap` are not in the offline
//! registry, and a mapping would count towards the resident set just the same.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use safetensors::Dtype;
use safetensors::tensor::Metadata;

/// Largest header accepted (the `safetensors` crate's own limit).
const MAX_HEADER: u64 = 100_000_000;
/// Bytes read at a time (a multiple of 4).
const PIECE: usize = 1 << 20;

/// An open safetensors file: its header, and where its data starts.
pub(crate) struct WeightsFile {
    file: File,
    data_start: u64,
    data_len: u64,
    meta: Metadata,
}

impl WeightsFile {
    /// Opens `path` and reads its header.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let bad = |e: &dyn std::fmt::Display| format!("bad safetensors file: {e}");
        let mut file = File::open(path).map_err(|e| e.to_string())?;
        let total = file.metadata().map_err(|e| e.to_string())?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len).map_err(|e| bad(&e))?;
        let n = u64::from_le_bytes(len);
        if n > MAX_HEADER || n + 8 > total {
            return Err(bad(&format!("a header of {n} bytes in a file of {total}")));
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact(&mut header).map_err(|e| bad(&e))?;
        let meta: Metadata = serde_json::from_slice(&header).map_err(|e| bad(&e))?;
        Ok(Self { file, data_start: n + 8, data_len: total - n - 8, meta })
    }

    /// Whether some tensor's name starts with `prefix`.
    pub(crate) fn has_prefix(&self, prefix: &str) -> bool {
        self.meta.tensors().keys().any(|name| name.starts_with(prefix))
    }

    /// Hands the values of the f32 tensor `name`, checked to have `shape`, to `piece` in order,
    /// at most [`PIECE`] bytes' worth at a time.
    pub(crate) fn read(&self, name: &str, shape: &[usize], mut piece: impl FnMut(&[f32])) -> Result<(), String> {
        let info = self.meta.info(name).ok_or_else(|| format!("tensor {name}: not in the file"))?;
        if info.shape != shape {
            return Err(format!("tensor {name}: shape {:?}, expected {shape:?}", info.shape));
        }
        if info.dtype != Dtype::F32 {
            return Err(format!("tensor {name}: dtype {:?}, only F32 is supported", info.dtype));
        }
        let (start, end) = info.data_offsets;
        let size = shape.iter().product::<usize>() * 4;
        if end.checked_sub(start) != Some(size) || end as u64 > self.data_len {
            return Err(format!("tensor {name}: bytes {start}..{end} are not its {size} bytes inside the file"));
        }
        let io = |e: std::io::Error| format!("tensor {name}: {e}");
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.data_start + start as u64)).map_err(io)?;
        let mut bytes = vec![0u8; PIECE.min(size)];
        let mut values = Vec::with_capacity(bytes.len() / 4);
        let mut left = size;
        while left > 0 {
            let take = left.min(PIECE);
            file.read_exact(&mut bytes[..take]).map_err(io)?;
            values.clear();
            values.extend(bytes[..take].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
            piece(&values);
            left -= take;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file with the tensors `(name, shape, values)`, in order.
    fn file(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> tempfile::NamedTempFile {
        let mut header = serde_json::Map::new();
        let (mut data, mut at) = (Vec::new(), 0);
        for (name, shape, values) in tensors {
            let end = at + values.len() * 4;
            header.insert(
                (*name).to_owned(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [at, end]}),
            );
            data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            at = end;
        }
        let header = serde_json::to_vec(&header).expect("header");
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header);
        bytes.extend(data);
        let out = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(out.path(), bytes).expect("written");
        out
    }

    #[test]
    fn tensors_larger_than_a_piece_come_back_whole_and_in_order() {
        let big: Vec<f32> = (0..(PIECE / 4) * 2 + 3).map(|i| i as f32 * 0.5).collect();
        let f = file(&[("a.weight", vec![2], vec![1.0, -2.0]), ("b.weight", vec![big.len()], big.clone())]);
        let weights = WeightsFile::open(f.path()).expect("opens");
        let mut got = Vec::new();
        weights.read("b.weight", &[big.len()], |v| got.extend_from_slice(v)).expect("reads");
        assert_eq!(got, big);
        let mut small = Vec::new();
        weights.read("a.weight", &[2], |v| small.extend_from_slice(v)).expect("reads");
        assert_eq!(small, [1.0, -2.0]);
        assert!(weights.has_prefix("b.") && !weights.has_prefix("bert."));
    }

    #[test]
    fn a_wrong_shape_a_missing_tensor_and_a_truncated_file_are_errors_that_name_them() {
        let f = file(&[("w", vec![4], vec![1.0, 2.0, 3.0, 4.0])]);
        let weights = WeightsFile::open(f.path()).expect("opens");
        let err = weights.read("w", &[2, 2], |_| {}).expect_err("shape");
        assert!(err.contains("shape [4], expected [2, 2]"), "{err}");
        let err = weights.read("v", &[4], |_| {}).expect_err("missing");
        assert!(err.contains("tensor v"), "{err}");
        let bytes = std::fs::read(f.path()).expect("read");
        std::fs::write(f.path(), &bytes[..bytes.len() - 4]).expect("truncated");
        let err = WeightsFile::open(f.path()).and_then(|w| w.read("w", &[4], |_| {})).expect_err("truncated");
        assert!(err.contains("tensor w"), "{err}");
        std::fs::write(f.path(), b"\xff\xff\xff\xff\xff\xff\xff\x7f{}").expect("garbage");
        assert!(WeightsFile::open(f.path()).err().is_some_and(|e| e.contains("bad safetensors file")));
    }
}
