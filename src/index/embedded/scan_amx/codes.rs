//! The int8 copy of the dense matrix that the AMX scan reads: each row scaled by its own
//! largest magnitude to ±127 (symmetric scalar quantisation, as Qdrant's `int8` option).
//! It is a quarter of the f32 vectors and half of the f16 matrix beside it, so a pass over
//! it streams half the bytes of a pass over the f16 rows, and the pass is bound by that
//! stream. Its scores are approximate; the scan rescores its candidates on the f16 rows.

use crate::amx::{LINE, Line, ZERO_LINE, bytes, bytes_mut};

/// Row-major int8 codes (`dim` per row, whole lines) and one scale per row: value ≈ code ×
/// scale.
#[derive(Debug, Default)]
pub struct Codes {
    dim: usize,
    values: Vec<Line>,
    scales: Vec<f32>,
}

impl Codes {
    /// No rows, `dim` values each; `dim` must be a multiple of 64 (the tiles' step, which
    /// `scan_amx::usable` requires before any copy is kept).
    pub fn new(dim: usize) -> Self {
        assert!(dim.is_multiple_of(LINE), "int8 rows are whole cache lines: dim {dim} is not a multiple of 64");
        Self { dim, ..Self::default() }
    }

    /// The codes, row-major; every row starts on a cache-line boundary.
    pub fn values(&self) -> &[i8] {
        bytes(&self.values)
    }

    /// Lines a row takes.
    fn lines(&self) -> usize {
        self.dim / LINE
    }

    /// One scale per row.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.values.reserve_exact(rows * self.lines());
        self.scales.reserve_exact(rows);
    }

    /// Appends `row` (of `dim` values), quantised.
    pub fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.dim);
        let first = self.values.len();
        self.values.resize(first + self.lines(), ZERO_LINE);
        let scale = quantize(row, bytes_mut(&mut self.values[first..]));
        self.scales.push(scale);
    }

    /// Copies row `from` over row `to`.
    pub fn copy_row(&mut self, from: usize, to: usize) {
        let lines = self.lines();
        self.values.copy_within(from * lines..(from + 1) * lines, to * lines);
        self.scales[to] = self.scales[from];
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.values.truncate(rows * self.lines());
        self.scales.truncate(rows);
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.values.capacity() * LINE + self.scales.capacity() * 4
    }
}

/// Writes `values` into `out` (as long) as int8 codes scaled so the largest magnitude maps to
/// 127; returns the scale (0 for an all-zero vector, whose codes are all 0).
pub fn quantize(values: &[f32], out: &mut [i8]) -> f32 {
    debug_assert_eq!(values.len(), out.len());
    let largest = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    if largest == 0.0 || !largest.is_finite() {
        out.fill(0);
        return 0.0;
    }
    let scale = largest / 127.0;
    let inverse = 127.0 / largest;
    // Round half away from zero by hand: `f32::round` is a libm call per value on baseline
    // x86-64, this vectorises (and `as` saturates, so nothing can wrap).
    for (code, v) in out.iter_mut().zip(values) {
        let r = v * inverse;
        *code = (r + if r >= 0.0 { 0.5 } else { -0.5 }) as i8;
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_times_scale_come_back_within_half_a_step() {
        let values = [0.5, -0.25, 0.125, 0.0, -0.5, 0.3];
        let mut codes = [0; 6];
        let scale = quantize(&values, &mut codes);
        assert_eq!(codes[0], 127);
        assert_eq!(codes[4], -127);
        for (v, c) in values.iter().zip(&codes) {
            assert!((v - f32::from(*c) * scale).abs() <= scale / 2.0 + 1e-7, "{v} vs {c}");
        }
    }

    #[test]
    fn an_all_zero_row_has_zero_codes_and_scale() {
        let mut codes = [1; 4];
        assert_eq!(quantize(&[0.0; 4], &mut codes), 0.0);
        assert_eq!(codes, [0; 4]);
    }

    /// A 128-wide row whose first two values are `a` and `b`, the rest 0.
    fn row(a: f32, b: f32) -> Vec<f32> {
        let mut row = vec![0.0; 128];
        (row[0], row[1]) = (a, b);
        row
    }

    #[test]
    fn copying_and_truncating_rows_keeps_codes_and_scales_together() {
        let mut codes = Codes::new(128);
        codes.push(&row(1.0, 0.0));
        codes.push(&row(0.0, 2.0));
        codes.push(&row(-4.0, 4.0));
        codes.copy_row(2, 0);
        codes.truncate(2);
        let values = codes.values();
        assert_eq!(values.len(), 256);
        assert_eq!((values[0], values[1], values[128], values[129]), (-127, 127, 0, 127));
        assert!(values[2..128].iter().chain(&values[130..]).all(|&c| c == 0));
        assert_eq!(codes.scales(), [4.0 / 127.0, 2.0 / 127.0]);
    }

    #[test]
    fn every_row_starts_on_a_cache_line_boundary() {
        let mut codes = Codes::new(384);
        for r in 0..100 {
            codes.push(&row(r as f32, 1.0)[..].repeat(3));
        }
        codes.copy_row(99, 3);
        codes.truncate(50);
        for r in 0..50 {
            assert_eq!(codes.values()[r * 384..].as_ptr() as usize % LINE, 0, "row {r}");
        }
    }
}
