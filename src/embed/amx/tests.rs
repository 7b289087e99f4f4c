//! Tests of the AMX kernels against f32 products of the same bf16-rounded operands.

use super::*;

fn random(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

#[test]
fn bf16_rounds_to_nearest_even() {
    assert_eq!(to_bf16(1.0), 0x3f80);
    assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0, "a tie rounds to the even mantissa");
    assert_eq!(from_bf16(to_bf16(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0, "a tie rounds up to even");
    assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
}

#[test]
fn input_rows_are_rounded_as_to_bf16_rounds_them_on_every_path() {
    // Random values, exact ties both ways, and a length with a partial last vector.
    let mut x = random(1_000, 11);
    x.extend([1.0 + 1.0 / 256.0, 1.0 + 3.0 / 256.0, -(1.0 + 1.0 / 256.0), 0.0, -0.0, 3.0e38, -1.0e-30]);
    let want: Vec<u16> = x.iter().map(|&v| to_bf16(v)).collect();
    let mut fast = vec![MaybeUninit::new(0u16); x.len()];
    round_slice(&mut fast, &x);
    let mut plain = vec![MaybeUninit::new(0u16); x.len()];
    round(&mut plain, &x);
    for (path, got) in [("dispatched", &fast), ("multiversioned", &plain)] {
        // SAFETY: both functions write every element.
        let got: Vec<u16> = got.iter().map(|v| unsafe { v.assume_init() }).collect();
        assert_eq!(got, want, "{path} rounding");
    }
}

#[test]
fn amx_products_match_f32_products_on_every_row_and_column_block_shape() {
    assert_eq!(available(), cpu_has_amx() && cfg!(target_os = "linux"), "the kernel refused the AMX tile state");
    if !available() {
        eprintln!("this CPU has no AMX-BF16: only the f32 path can run here");
        return;
    }
    let (k, n) = (64, 96);
    let w = random(k * n, 7);
    let packed = Packed::new(&w, k, n).expect("whole tiles");
    // Up to 256 rows run column block by column block, more row block by row block.
    for rows in [1, 15, 16, 17, 31, 32, 33, 50, 256, 257, 300] {
        let x = random(rows * k, rows as u32);
        let bias = random(n, 3);
        let mut out = vec![f32::NAN; rows * n];
        let a = Rows::new(&x, rows, k);
        // Two tasks as `Linear` would split them: columns 0..32 and 32..96.
        // SAFETY: AMX is available and `out` is rows × n.
        unsafe {
            gemm(&a, &packed, &bias, 0..rows, 0..32, (out.as_mut_ptr(), n));
            gemm(&a, &packed, &bias, 0..rows, 32..96, (out.as_mut_ptr(), n));
        }
        for r in 0..rows {
            for c in 0..n {
                let want: f32 = bias[c]
                    + (0..k).map(|i| from_bf16(to_bf16(x[r * k + i])) * from_bf16(to_bf16(w[i * n + c]))).sum::<f32>();
                assert!(
                    (out[r * n + c] - want).abs() < 1e-4,
                    "rows {rows}: ({r}, {c}) = {} want {want}",
                    out[r * n + c]
                );
            }
        }
    }
}

#[test]
fn packing_refuses_partial_tiles() {
    assert!(Packed::new(&[0.0; 48 * 64], 48, 64).is_none());
    assert!(Packed::new(&[0.0; 64 * 48], 64, 48).is_none());
    assert!(Packed::new(&[0.0; 64 * 64], 64, 64).is_some());
}

#[test]
fn weight_tiles_and_input_rows_start_on_cache_line_boundaries() {
    for (k, n) in [(32, 32), (64, 96), (384, 1536)] {
        let packed = Packed::new(&random(k * n, 5), k, n).expect("whole tiles");
        for block in 0..n / TILE {
            assert_eq!(packed.block(block) as usize % 64, 0, "{k}x{n}, block {block}");
        }
    }
    // Reused buffers of any earlier size (`buffers::take_bf16`) still give aligned rows.
    for rows in [1, 17, 3, 64, 2] {
        let a = Rows::new(&random(rows * 64, 9), rows, 64);
        for r in (0..a.rows).step_by(TILE) {
            assert_eq!(halves(&a.data)[r * a.k..].as_ptr() as usize % 64, 0, "{rows} rows, row {r}");
        }
    }
}

#[test]
fn prefetches_stay_inside_the_weights_and_reach_the_next_column_block() {
    let (k, n) = (64, 128);
    let packed = Packed::new(&random(k * n, 11), k, n).expect("whole tiles");
    let (start, end) = (halves(&packed.data).as_ptr() as usize, halves(&packed.data).as_ptr_range().end as usize);
    let span = k / STEP * PREFETCH_STEP;
    let block_bytes = k * 2 * TILE * 2;
    for cols_end in [32, 64, 96, 128] {
        for col in (0..cols_end).step_by(2 * TILE) {
            for nth in 0..8 {
                let at = packed.ahead(col, cols_end, nth) as usize;
                assert!(at >= start && at + span <= end, "col {col} of {cols_end}, call {nth}: outside the weights");
                let next = start + (col + 2 * TILE) * k * 2;
                if col + 2 * TILE < cols_end && nth < 4 {
                    assert_eq!(at, next + nth * span, "col {col}, call {nth}: the next 32 columns");
                } else if at >= next {
                    assert!(at + span <= start + cols_end * k * 2, "col {col}, call {nth}: past the call's columns");
                }
            }
        }
    }
    assert_eq!(4 * span, block_bytes, "four calls cover one 32-column block");
}
