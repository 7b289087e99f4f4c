//! A dense layer (`x · Wᵀ + b`) of the encoder, on the current rayon pool: bf16 weights on AMX
//! tiles (`amx`), f16 weights in AVX2 panels with f32 arithmetic (`avx2`) elsewhere on x86-64, or f32 weights
//! through `kernels::matmul` (sgemm) on other CPUs; split into rectangles of rows or of output
//! columns per task.

use std::ops::Range;

use rayon::prelude::*;

use super::kernels::{SyncPtr, View, matmul};

/// A dense layer with its weight stored transposed (`n_in × n_out`, row-major), in f32, or
/// packed: in bf16 for AMX or in f16 panels for AVX2 (then `weight_t` is empty).
pub(crate) struct Linear {
    /// `n_in × n_out` weights (empty once packed).
    pub weight_t: Vec<f32>,
    /// The same weights in bf16 AMX tiles, when the model runs in bf16.
    pub packed: Option<super::amx::Packed>,
    /// The same weights in f16 panels of 16 columns, when the model runs in f32 on AVX2.
    pub panels: Option<super::avx2::Panels>,
    /// `n_out` biases.
    pub bias: Vec<f32>,
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
}

impl Linear {
    /// Moves the weights to bf16 AMX tiles (freeing the f32 copy); false, leaving the layer in
    /// f32, when its shape does not fit whole tiles.
    pub(crate) fn pack_bf16(&mut self) -> bool {
        self.packed = super::amx::Packed::new(&self.weight_t, self.n_in, self.n_out);
        self.free_f32_if(self.packed.is_some())
    }

    /// Moves the f32 weights to AVX2 panels in f16 (`avx2`); false, leaving them as they are,
    /// when the CPU lacks AVX2/FMA/F16C or the shape is not whole panels.
    pub(crate) fn pack_panels(&mut self) -> bool {
        self.panels = super::avx2::Panels::new(&self.weight_t, self.n_in, self.n_out);
        self.free_f32_if(self.panels.is_some())
    }

    /// Frees the f32 weights when a packed copy now holds them; returns `packed`.
    fn free_f32_if(&mut self, packed: bool) -> bool {
        if packed {
            self.weight_t = Vec::new();
        }
        packed
    }

    /// `out (rows × n_out) = x (rows × n_in) · W^T + b` on the current rayon pool, in f32
    /// (sgemm) or, when packed, bf16 on AMX tiles. Many rows (ingestion batches) are split into
    /// row blocks; few rows (queries) are split by output columns instead, because sgemm packs
    /// the whole weight operand once per call: row blocks would each pack (or, on AMX, stream)
    /// all of it, column blocks read disjoint parts (and a lone short query still uses every
    /// thread).
    pub(crate) fn forward(&self, x: &[f32], rows: usize, out: &mut [f32], threads: usize) {
        assert_eq!(x.len(), rows * self.n_in, "linear input shape");
        let bf16_rows = self.packed.as_ref().map(|_| super::amx::Rows::new(x, rows, self.n_in));
        self.product(x, bf16_rows, rows, out, threads);
    }

    /// [`Linear::forward`] of `GELU(x)`, the FFN's second product. In bf16 the activation is
    /// applied while rounding the input (`amx::Rows::gelu`) and `x` is left as it was; in f32
    /// it is applied to `x` in place first.
    pub(crate) fn forward_gelu(&self, x: &mut [f32], rows: usize, out: &mut [f32], threads: usize) {
        assert_eq!(x.len(), rows * self.n_in, "linear input shape");
        let bf16_rows = match self.packed {
            Some(_) => Some(super::amx::Rows::gelu(x, rows, self.n_in)),
            None => {
                super::kernels::gelu(x, threads);
                None
            }
        };
        self.product(x, bf16_rows, rows, out, threads);
    }

    /// The products of [`Linear::forward`]: on AMX tiles from `bf16_rows` when packed, else
    /// in f32 from `x`.
    fn product(&self, x: &[f32], bf16_rows: Option<super::amx::Rows>, rows: usize, out: &mut [f32], threads: usize) {
        assert_eq!(out.len(), rows * self.n_out, "linear output shape");
        if rows == 0 {
            return;
        }
        let dst = SyncPtr::new(out);
        let kernels = (&self.packed, &bf16_rows, &self.panels);
        self.tasks(rows, threads).into_par_iter().for_each(|(rows, cols)| match kernels {
            // SAFETY: `packed` exists only when AMX is available (`Linear::pack_bf16`); `out`
            // holds the full rows × n_out and the tasks' rectangles are disjoint.
            (Some(packed), Some(a), _) => unsafe {
                super::amx::gemm(a, packed, &self.bias, rows, cols, (dst.get(), self.n_out))
            },
            // SAFETY: `panels` exist only where AVX2, FMA and F16C are (`Panels::new`); as above.
            #[cfg(target_arch = "x86_64")]
            (_, _, Some(panels)) => unsafe {
                super::avx2::gemm(x, panels, &self.bias, rows, cols, (dst.get(), self.n_out))
            },
            // SAFETY: as above, for the f32 weights.
            _ => unsafe { self.forward_f32(x, rows, cols, dst) },
        });
    }

    /// Disjoint (rows, output columns) rectangles covering the output, one per rayon task.
    /// Both bounds are multiples of [`ALIGN`] except the ends, as the AMX kernels require.
    /// On one thread, one rectangle: `amx::gemm` then runs each column block over all the
    /// rows while the next block's weights arrive (a pass of 8 questions split in two row
    /// rectangles, each streaming the weights, took 3.76–3.90 ms against 3.37–3.41). Passes
    /// of 20 and 28 questions (over `amx::FEW_ROWS`, so in row-block order) measured the same
    /// in either order.
    fn tasks(&self, rows: usize, threads: usize) -> Vec<(Range<usize>, Range<usize>)> {
        let n = self.n_out;
        if threads <= 1 {
            return vec![(0..rows, 0..n)];
        }
        if rows < COLUMN_SPLIT_MAX_ROWS {
            let width = n.div_ceil(threads).next_multiple_of(ALIGN).min(n);
            (0..n.div_ceil(width)).map(|p| (0..rows, p * width..((p + 1) * width).min(n))).collect()
        } else {
            let block = rows.div_ceil(threads * 2).next_multiple_of(ALIGN);
            (0..rows.div_ceil(block)).map(|b| (b * block..((b + 1) * block).min(rows), 0..n)).collect()
        }
    }

    /// One rectangle of [`Linear::forward`] with the f32 weights: bias, then sgemm on top.
    ///
    /// # Safety
    /// `dst` must cover rows × n_out elements of which this rectangle belongs to the caller.
    unsafe fn forward_f32(&self, x: &[f32], rows: Range<usize>, cols: Range<usize>, dst: SyncPtr) {
        let width = cols.end - cols.start;
        // SAFETY: per the contract; `x` holds rows × n_in elements (checked by `forward`).
        unsafe {
            for row in rows.clone() {
                let cells = dst.get().add(row * self.n_out + cols.start);
                std::ptr::copy_nonoverlapping(self.bias[cols.start..].as_ptr(), cells, width);
            }
            let lhs = View { ptr: x[rows.start * self.n_in..].as_ptr(), row_stride: self.n_in, col_stride: 1 };
            let rhs = View { ptr: self.weight_t[cols.start..].as_ptr(), row_stride: self.n_out, col_stride: 1 };
            let out = (dst.get().add(rows.start * self.n_out + cols.start), self.n_out);
            matmul((rows.end - rows.start, width, self.n_in), out, true, lhs, rhs, 1.0);
        }
    }
}

/// Below this many rows [`Linear::forward`] splits the output columns across threads.
const COLUMN_SPLIT_MAX_ROWS: usize = 512;

/// Row and column blocks of [`Linear::forward`] are multiples of this: two AMX tiles, and
/// whole sgemm micro-kernel tiles. It is also the smallest row block worth a parallel task.
const ALIGN: usize = 32;
