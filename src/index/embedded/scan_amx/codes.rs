//! The int8 copy of the dense matrix that the AMX scan reads: each row scaled by its own
//! largest magnitude to ±127 (symmetric scalar quantisation, as Qdrant's `int8` option).
//! It is a quarter of the f32 vectors and half of the f16 matrix beside it, so a pass over
//! it streams half the bytes of a pass over the f16 rows, and the pass is bound by that
//! stream. Its scores are approximate; the scan rescores its candidates on the f16 rows.

/// Row-major int8 codes (`dim` per row) and one scale per row: value ≈ code × scale.
#[derive(Debug, Default)]
pub struct Codes {
    dim: usize,
    values: Vec<i8>,
    scales: Vec<f32>,
}

impl Codes {
    /// No rows, `dim` values each.
    pub fn new(dim: usize) -> Self {
        Self { dim, ..Self::default() }
    }

    /// The codes, row-major.
    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// One scale per row.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.values.reserve_exact(rows * self.dim);
        self.scales.reserve_exact(rows);
    }

    /// Appends `row` (of `dim` values), quantised.
    pub fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.dim);
        let scale = quantize(row, &mut self.values);
        self.scales.push(scale);
    }

    /// Copies row `from` over row `to`.
    pub fn copy_row(&mut self, from: usize, to: usize) {
        let dim = self.dim;
        self.values.copy_within(from * dim..(from + 1) * dim, to * dim);
        self.scales[to] = self.scales[from];
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.values.truncate(rows * self.dim);
        self.scales.truncate(rows);
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.values.capacity() + self.scales.capacity() * 4
    }
}

/// Appends `values` as int8 codes scaled so the largest magnitude maps to 127; returns the
/// scale (0 for an all-zero vector, whose codes are all 0).
pub fn quantize(values: &[f32], out: &mut Vec<i8>) -> f32 {
    let largest = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    if largest == 0.0 || !largest.is_finite() {
        out.extend(std::iter::repeat_n(0, values.len()));
        return 0.0;
    }
    let scale = largest / 127.0;
    let inverse = 127.0 / largest;
    // Round half away from zero by hand: `f32::round` is a libm call per value on baseline
    // x86-64, this vectorises (and `as` saturates, so nothing can wrap).
    out.extend(values.iter().map(|v| {
        let r = v * inverse;
        (r + if r >= 0.0 { 0.5 } else { -0.5 }) as i8
    }));
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_times_scale_come_back_within_half_a_step() {
        let values = [0.5, -0.25, 0.125, 0.0, -0.5, 0.3];
        let mut codes = Vec::new();
        let scale = quantize(&values, &mut codes);
        assert_eq!(codes[0], 127);
        assert_eq!(codes[4], -127);
        for (v, c) in values.iter().zip(&codes) {
            assert!((v - f32::from(*c) * scale).abs() <= scale / 2.0 + 1e-7, "{v} vs {c}");
        }
    }

    #[test]
    fn an_all_zero_row_has_zero_codes_and_scale() {
        let mut codes = Vec::new();
        assert_eq!(quantize(&[0.0; 4], &mut codes), 0.0);
        assert_eq!(codes, [0; 4]);
    }

    #[test]
    fn copying_and_truncating_rows_keeps_codes_and_scales_together() {
        let mut codes = Codes::new(2);
        codes.push(&[1.0, 0.0]);
        codes.push(&[0.0, 2.0]);
        codes.push(&[-4.0, 4.0]);
        codes.copy_row(2, 0);
        codes.truncate(2);
        assert_eq!(codes.values(), [-127, 127, 0, 127]);
        assert_eq!(codes.scales(), [4.0 / 127.0, 2.0 / 127.0]);
    }
}
