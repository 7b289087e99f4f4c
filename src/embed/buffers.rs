//! Scratch of the encoder's forward pass kept per thread between passes: the activations
//! (`bert`) and the bf16 copy of a dense layer's input (`amx::Rows`).
//!
//! A pass of questions allocates a few hundred kilobytes of activations and 24 bf16 copies;
//! allocating and zeroing them again every pass (fresh pages from the kernel, once the
//! allocator has returned them) cost about a tenth of the pass. Small buffers are kept for the
//! thread's next pass; large ones (a batch of chunks) are dropped so that ingestion leaves
//! nothing resident.

use crate::amx::Line;

/// The activation buffers of one forward pass.
#[derive(Default)]
pub(crate) struct Buffers {
    /// Hidden states.
    pub x: Vec<f32>,
    /// Fused Q, K and V.
    pub qkv: Vec<f32>,
    /// Attention output.
    pub ctx: Vec<f32>,
    /// The next hidden states.
    pub tmp: Vec<f32>,
    /// Feed-forward activations.
    pub inter: Vec<f32>,
}

/// The most values [`Buffers`] keeps between passes (8 MB: a pass of ~500 tokens).
const KEEP_VALUES: usize = 1 << 21;

thread_local! {
    static BUFFERS: std::cell::Cell<Buffers> = std::cell::Cell::new(Buffers::default());
}

impl Buffers {
    /// This thread's buffers (empty the first time).
    pub(crate) fn take() -> Self {
        BUFFERS.take()
    }

    /// Keeps the buffers for this thread's next pass, if they are small.
    pub(crate) fn give_back(self) {
        let kept = [&self.x, &self.qkv, &self.ctx, &self.tmp, &self.inter].iter().map(|b| b.capacity()).sum::<usize>();
        if kept <= KEEP_VALUES {
            BUFFERS.set(self);
        }
    }
}

/// The largest bf16 input copy a thread keeps, in cache lines (1 MB: the widest input of a
/// pass of questions).
const KEEP_BF16_LINES: usize = (1 << 20) / crate::amx::LINE;

thread_local! {
    static BF16: std::cell::Cell<Vec<Line>> = const { std::cell::Cell::new(Vec::new()) };
}

/// This thread's kept bf16 buffer (empty the first time); its values are stale.
pub(crate) fn take_bf16() -> Vec<Line> {
    BF16.take()
}

/// Keeps `buffer` for this thread's next [`take_bf16`], if it is small.
pub(crate) fn keep_bf16(buffer: Vec<Line>) {
    if buffer.capacity() <= KEEP_BF16_LINES {
        BF16.set(buffer);
    }
}

/// `buffer` resized to exactly `len` values, reusing its memory; the values are stale (every
/// step that reads a buffer first overwrites all of it).
pub(crate) fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    buffer.truncate(len);
    buffer
}
