//! Activation buffers of the encoder's forward pass (`bert`), kept per thread between passes.
//!
//! A pass of questions allocates a few hundred kilobytes of activations; allocating and zeroing
//! them again every pass (fresh pages from the kernel, once the allocator has returned them)
//! cost about a tenth of the pass. Small sets are kept for the thread's next pass; large ones (a
//! batch of chunks) are dropped so that ingestion leaves nothing resident.

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

/// A buffer of exactly `len` values, reusing its memory; the values are stale (every step
/// that reads a buffer first overwrites all of it).
pub(crate) trait Reuse {
    /// This buffer, resized to `len` values.
    fn sized(&mut self, len: usize) -> &mut [f32];
}

impl Reuse for Vec<f32> {
    fn sized(&mut self, len: usize) -> &mut [f32] {
        if self.len() < len {
            self.resize(len, 0.0);
        }
        self.truncate(len);
        self
    }
}
