//! A hand-written BERT encoder forward pass (inference only, CPU; dense layers in f32 or, on
//! CPUs with AMX, bf16 with f32 sums: see `super::amx`).
//!
//! Why not candle: a straightforward candle BERT measured ≈ 7 chunks/s on two
//! cores against ≈ 50 for PyTorch, mostly thread-pool and per-op overhead
//! (candle issues #2877, #2418). MiniLM is six small layers, so the whole
//! forward pass is a few hundred lines over an sgemm crate, and it lets us:
//! - run every parallel step (the matmuls and our own row kernels) on
//!   one rayon pool, the one the caller installs, and use the fastest sgemm
//!   we measured (`matrixmultiply`, see `super::kernels`);
//! - skip padding entirely: the tokens of all sequences in a batch are packed
//!   into one `tokens × hidden` matrix for the dense layers, and attention runs
//!   per (sequence, head) over that sequence's own tokens. That is exactly the
//!   padded computation with an attention mask (masked keys get weight 0 and
//!   padded rows are dropped by mean pooling), minus the wasted work.
//!
//! Output: mean pooling over each sequence's tokens, then L2 normalisation, as
//! sentence-transformers' `Pooling(mean)` + `Normalize` modules do.
//!
//! The word-embedding table (30,522 × 384, half of all weights) is kept as f16 (`crate::half`):
//! a lookup reads one row per token, so it costs nothing in speed and saves 23 MB of resident
//! memory; the embeddings move by ~1e-6 in cosine (the fixture test holds them to PyTorch's).

use super::attention;
use super::buffers::{self, Buffers};
use super::kernels::{self, SyncPtr, View};
use super::linear::Linear;
use super::weights::WeightsFile;
use crate::half;
use rayon::prelude::*;
use std::cell::RefCell;
use std::path::Path;

/// The fields of a Hugging Face BERT `config.json` that the forward pass needs.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden width (384 for MiniLM).
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Number of learned positions.
    pub max_position_embeddings: usize,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Activation name; only exact `"gelu"` is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".to_owned()
}

/// Layer-norm affine parameters.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Norm {
    fn params(&self) -> (&[f32], &[f32]) {
        (&self.gamma, &self.beta)
    }
}

/// One encoder layer (Q, K and V fused into one `hidden × 3·hidden` layer).
struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: Norm,
}

/// BERT weights, ready for [`Bert::encode`].
pub(crate) struct Bert {
    cfg: BertConfig,
    /// f16 bits.
    word: Vec<u16>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

/// Reads named f32 tensors out of a safetensors file, checking shapes; packs each dense layer
/// as it is read (see [`Tensors::pack`]).
struct Tensors {
    file: WeightsFile,
    prefix: &'static str,
    /// Pack dense layers as bf16 AMX tiles (else as AVX2 panels where the CPU has them).
    bf16: bool,
}

impl Tensors {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let mut out = Vec::with_capacity(shape.iter().product());
        self.file.read(&format!("{}{name}", self.prefix), shape, |v| out.extend_from_slice(v))?;
        Ok(out)
    }

    /// Like [`Tensors::get`], stored as f16 bits.
    fn get_f16(&self, name: &str, shape: &[usize]) -> Result<Vec<u16>, String> {
        let mut out = Vec::with_capacity(shape.iter().product());
        self.file.read(&format!("{}{name}", self.prefix), shape, |v| half::extend_f16(&mut out, v))?;
        Ok(out)
    }

    /// A `torch.nn.Linear`, packed.
    fn linear(&self, name: &str, n_in: usize, n_out: usize) -> Result<Linear, String> {
        Ok(self.pack(self.linear_f32(name, n_in, n_out)?))
    }

    /// Packs a dense layer for the CPU as soon as it is read, so the model's f32 weights never
    /// all exist at once (start-up's peak memory): bf16 AMX tiles when asked for, else f16
    /// AVX2 panels; a layer that fits neither stays in f32, for sgemm.
    fn pack(&self, mut linear: Linear) -> Linear {
        if self.bf16 && !linear.pack_bf16() {
            tracing::debug!(n_in = linear.n_in, n_out = linear.n_out, "layer stays in f32: not whole AMX tiles");
        }
        if linear.packed.is_none() && !linear.pack_panels() {
            tracing::debug!(n_in = linear.n_in, n_out = linear.n_out, "layer stays in f32 for sgemm");
        }
        linear
    }

    /// A `torch.nn.Linear` (`weight: out × in`), stored transposed, in f32.
    fn linear_f32(&self, name: &str, n_in: usize, n_out: usize) -> Result<Linear, String> {
        let w = self.get(&format!("{name}.weight"), &[n_out, n_in])?;
        let bias = self.get(&format!("{name}.bias"), &[n_out])?;
        let mut weight_t = vec![0.0; n_in * n_out];
        for (o, row) in w.chunks_exact(n_in).enumerate() {
            for (i, v) in row.iter().enumerate() {
                weight_t[i * n_out + o] = *v;
            }
        }
        Ok(Linear { weight_t, bias, n_in, n_out, packed: None, panels: None })
    }

    fn norm(&self, name: &str, h: usize) -> Result<Norm, String> {
        let gamma = self.get(&format!("{name}.weight"), &[h])?;
        let beta = self.get(&format!("{name}.bias"), &[h])?;
        Ok(Norm { gamma, beta })
    }

    /// Q, K and V of layer `p` concatenated along the output dimension.
    fn qkv(&self, p: &str, h: usize) -> Result<Linear, String> {
        let parts = ["query", "key", "value"].map(|n| self.linear_f32(&format!("{p}.attention.self.{n}"), h, h));
        let mut weight_t = vec![0.0; h * 3 * h];
        let mut bias = Vec::with_capacity(3 * h);
        for (j, part) in parts.into_iter().enumerate() {
            let part = part?;
            for i in 0..h {
                weight_t[i * 3 * h + j * h..i * 3 * h + (j + 1) * h]
                    .copy_from_slice(&part.weight_t[i * h..(i + 1) * h]);
            }
            bias.extend_from_slice(&part.bias);
        }
        Ok(self.pack(Linear { weight_t, bias, n_in: h, n_out: 3 * h, packed: None, panels: None }))
    }

    fn layer(&self, i: usize, cfg: &BertConfig) -> Result<Layer, String> {
        let (h, m) = (cfg.hidden_size, cfg.intermediate_size);
        let p = format!("encoder.layer.{i}");
        Ok(Layer {
            qkv: self.qkv(&p, h)?,
            attn_out: self.linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: self.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
            ffn_in: self.linear(&format!("{p}.intermediate.dense"), h, m)?,
            ffn_out: self.linear(&format!("{p}.output.dense"), m, h)?,
            ffn_norm: self.norm(&format!("{p}.output.LayerNorm"), h)?,
        })
    }
}

thread_local! {
    /// Per-thread attention score scratch, reused across (sequence, head) tasks.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl Bert {
    /// Builds the model from `config.json` contents and a `model.safetensors` file, its dense
    /// layers packed for the CPU (bf16 AMX tiles with `bf16`, else f16 AVX2 panels where the
    /// CPU has AVX2, FMA and F16C, else f32 for sgemm).
    pub(crate) fn from_file(cfg: BertConfig, weights: &Path, bf16: bool) -> Result<Self, String> {
        if cfg.hidden_act != "gelu" {
            return Err(format!("hidden_act {:?} is not supported (only \"gelu\")", cfg.hidden_act));
        }
        if cfg.num_attention_heads == 0 || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err("hidden_size must be a multiple of num_attention_heads".to_owned());
        }
        let file = WeightsFile::open(weights)?;
        let prefix = if file.has_prefix("bert.") { "bert." } else { "" };
        let t = Tensors { file, prefix, bf16 };
        let h = cfg.hidden_size;
        Ok(Self {
            word: t.get_f16("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            position: t.get("embeddings.position_embeddings.weight", &[cfg.max_position_embeddings, h])?,
            token_type: t.get("embeddings.token_type_embeddings.weight", &[2, h])?,
            emb_norm: t.norm("embeddings.LayerNorm", h)?,
            layers: (0..cfg.num_hidden_layers).map(|i| t.layer(i, &cfg)).collect::<Result<_, _>>()?,
            cfg,
        })
    }

    /// Output vector width.
    pub(crate) fn hidden_size(&self) -> usize {
        self.cfg.hidden_size
    }

    /// Longest sequence the position embeddings allow.
    pub(crate) fn max_positions(&self) -> usize {
        self.cfg.max_position_embeddings
    }

    /// Mean-pooled, L2-normalised embeddings of token-id sequences (special
    /// tokens included). Parallel steps run on the current rayon pool, which
    /// should have `threads` threads.
    pub(crate) fn encode(&self, seqs: &[Vec<u32>], threads: usize) -> Result<Vec<Vec<f32>>, String> {
        let spans = spans(seqs, self.max_positions())?;
        let tokens = spans.last().map_or(0, |s| s.0 + s.1);
        let (h, eps) = (self.cfg.hidden_size, self.cfg.layer_norm_eps as f32);
        let mut buffers = Buffers::take();
        let mut x = self.embed_tokens(seqs, tokens, std::mem::take(&mut buffers.x))?;
        kernels::add_layer_norm(&mut x, None, self.emb_norm.params(), eps, threads);
        let qkv = buffers::sized(&mut buffers.qkv, tokens * 3 * h);
        let ctx = buffers::sized(&mut buffers.ctx, tokens * h);
        let mut tmp = std::mem::take(&mut buffers.tmp);
        buffers::sized(&mut tmp, tokens * h);
        let inter = buffers::sized(&mut buffers.inter, tokens * self.cfg.intermediate_size);
        for layer in &self.layers {
            layer.qkv.forward(&x, tokens, qkv, threads);
            self.attention(qkv, &spans, ctx);
            layer.attn_out.forward(ctx, tokens, &mut tmp, threads);
            kernels::add_layer_norm(&mut tmp, Some(&x), layer.attn_norm.params(), eps, threads);
            std::mem::swap(&mut x, &mut tmp);
            layer.ffn_in.forward(&x, tokens, inter, threads);
            layer.ffn_out.forward_gelu(inter, tokens, &mut tmp, threads);
            kernels::add_layer_norm(&mut tmp, Some(&x), layer.ffn_norm.params(), eps, threads);
            std::mem::swap(&mut x, &mut tmp);
        }
        let out = spans.iter().map(|&(off, len)| mean_normalised(&x[off * h..(off + len) * h], h)).collect();
        (buffers.x, buffers.tmp) = (x, tmp);
        buffers.give_back();
        Ok(out)
    }

    /// Word + position + token-type(0) embeddings of all packed tokens, in `x` (emptied first).
    fn embed_tokens(&self, seqs: &[Vec<u32>], tokens: usize, mut x: Vec<f32>) -> Result<Vec<f32>, String> {
        let h = self.cfg.hidden_size;
        x.clear();
        x.reserve(tokens * h);
        for seq in seqs {
            for (pos, &id) in seq.iter().enumerate() {
                let id = id as usize;
                if id >= self.cfg.vocab_size {
                    return Err(format!("token id {id} outside the vocabulary"));
                }
                let start = x.len();
                half::extend_f32(&mut x, &self.word[id * h..(id + 1) * h]);
                let p = &self.position[pos * h..(pos + 1) * h];
                for ((v, p), c) in x[start..].iter_mut().zip(p).zip(&self.token_type[..h]) {
                    *v = *v + p + c;
                }
            }
        }
        Ok(x)
    }

    /// Multi-head self-attention of every sequence, one rayon task per
    /// (sequence, head); writes the concatenated heads into `ctx`.
    fn attention(&self, qkv: &[f32], spans: &[(usize, usize)], ctx: &mut [f32]) {
        let (h, heads) = (self.cfg.hidden_size, self.cfg.num_attention_heads);
        let dh = h / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let out = SyncPtr::new(ctx);
        (0..spans.len() * heads).into_par_iter().for_each(|task| {
            let ((off, len), head) = (spans[task / heads], task % heads);
            let base = off * 3 * h + head * dh;
            if attention::direct(len, dh) {
                // SAFETY: rows off..off+len, columns head·dh.. of `ctx` belong to this task.
                let dst = unsafe { out.get().add(off * h + head * dh) };
                return attend_direct(qkv, attention::Head { base, len, h, dh }, scale, (dst, h));
            }
            let view = |col: usize| View { ptr: qkv[base + col..].as_ptr(), row_stride: 3 * h, col_stride: 1 };
            let (q, k, v) = (view(0), view(h), view(2 * h));
            let k_t = View { ptr: k.ptr, row_stride: 1, col_stride: 3 * h };
            SCORES.with_borrow_mut(|scores| {
                scores.resize(len * len, 0.0);
                // SAFETY: q, k and v cover `len` rows of `dh` columns inside
                // `qkv`; the destination rows/columns of `ctx` (rows off..off+len,
                // columns head·dh..) belong to this task alone.
                unsafe {
                    kernels::matmul((len, len, dh), (scores.as_mut_ptr(), len), false, q, k_t, scale);
                    kernels::softmax_rows(scores, len);
                    let p = View { ptr: scores.as_ptr(), row_stride: len, col_stride: 1 };
                    let dst = out.get().add(off * h + head * dh);
                    kernels::matmul((len, dh, len), (dst, h), false, p, v, 1.0);
                }
            });
        });
    }
}

/// One sequence's head in `attention::attend` (scratch per thread), its `len × dh` rows
/// written to `dst` (`stride` apart), which the caller's task alone writes.
fn attend_direct(qkv: &[f32], head: attention::Head, scale: f32, (dst, stride): (*mut f32, usize)) {
    SCORES.with_borrow_mut(|scratch| {
        let (len, dh) = (head.len, head.dh);
        let keys_len = attention::scratch_len(len, dh);
        scratch.resize(keys_len + len * dh, 0.0);
        let (keys, rows) = scratch.split_at_mut(keys_len);
        attention::attend(qkv, head, scale, keys, rows);
        for (i, row) in rows.chunks_exact(dh).enumerate() {
            // SAFETY: row i of the destination block, per the contract above.
            unsafe { std::ptr::copy_nonoverlapping(row.as_ptr(), dst.add(i * stride), dh) };
        }
    });
}

/// `(offset, length)` of each sequence in the packed token matrix.
fn spans(seqs: &[Vec<u32>], max_len: usize) -> Result<Vec<(usize, usize)>, String> {
    let mut off = 0;
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        if seq.is_empty() || seq.len() > max_len {
            return Err(format!("sequence length {} outside 1..={max_len}", seq.len()));
        }
        out.push((off, seq.len()));
        off += seq.len();
    }
    Ok(out)
}

/// Mean of the `h`-wide rows of `rows`, scaled to unit L2 norm.
fn mean_normalised(rows: &[f32], h: usize) -> Vec<f32> {
    let mut acc = vec![0.0f32; h];
    for row in rows.chunks_exact(h) {
        for (a, v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
    let n = (rows.len() / h) as f32;
    let norm = acc.iter().map(|v| (v / n) * (v / n)).sum::<f32>().sqrt().max(1e-12);
    acc.iter().map(|v| v / n / norm).collect()
}
