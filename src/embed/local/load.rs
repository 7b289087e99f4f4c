//! Reading a model folder: the sentence-transformers config, the tokenizers and the weights
//! (packed for the CPU once, here, at load).

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use super::DEFAULT_MAX_TOKENS;
use crate::embed::bert::{Bert, BertConfig};
use crate::embed::{EmbedError, Precision};

pub(super) fn load_err(path: &Path, what: &str, source: impl Into<crate::embed::BoxError>) -> EmbedError {
    EmbedError::Load { path: path.to_owned(), what: what.to_owned(), source: source.into() }
}

/// `max_seq_length` from `sentence_bert_config.json`, if the file exists.
pub(super) fn read_max_tokens(dir: &Path) -> Result<usize, EmbedError> {
    let path = dir.join("sentence_bert_config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(DEFAULT_MAX_TOKENS);
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| load_err(&path, "sentence-transformers config", e))?;
    Ok(v.get("max_seq_length").and_then(|m| m.as_u64()).map_or(DEFAULT_MAX_TOKENS, |m| m as usize))
}

/// The two tokenizers: (truncating encoder with special tokens, plain counter).
pub(super) fn load_tokenizers(dir: &Path, max_tokens: usize) -> Result<(Tokenizer, Tokenizer), EmbedError> {
    let path = dir.join("tokenizer.json");
    let mut counter = Tokenizer::from_file(&path).map_err(|e| load_err(&path, "tokenizer", e))?;
    counter.with_padding(None);
    counter.with_truncation(None).map_err(|e| load_err(&path, "tokenizer", e))?;
    let mut encoder = counter.clone();
    let trunc = TruncationParams { max_length: max_tokens, ..TruncationParams::default() };
    encoder.with_truncation(Some(trunc)).map_err(|e| load_err(&path, "tokenizer truncation", e))?;
    Ok((encoder, counter))
}

/// The model's weights, packed for the CPU as they are read: bf16 AMX tiles when `precision`
/// is bf16, f16 AVX2 panels for whatever runs in f32 (see `Bert::from_file`).
pub(super) fn load_model(dir: &Path, precision: Precision) -> Result<Bert, EmbedError> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| load_err(&path, "model config", e))?;
    let cfg: BertConfig = serde_json::from_str(&text).map_err(|e| load_err(&path, "model config", e))?;
    let path = dir.join("model.safetensors");
    Bert::from_file(cfg, &path, precision == Precision::Bf16).map_err(|e| load_err(&path, "weights", e))
}
