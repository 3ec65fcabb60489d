//! Decoding tensor bytes into f32. Safetensors data may be unaligned, so every element is read
//! from its little-endian bytes; nothing is cast in place.

use safetensors::Dtype;

use crate::CnnError;

/// Decode `bytes` of `dtype` into f32 values (F64 is narrowed, F16/BF16 widened).
pub(crate) fn decode(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, CnnError> {
    let v = match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
            .collect(),
        other => {
            return Err(CnnError::tensor(
                name,
                format!("dtype {other:?} is not supported; expected F32, F16, BF16 or F64"),
            ))
        }
    };
    Ok(v)
}

/// IEEE 754 half precision to single precision, exactly (every f16 is an f32).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // subnormal: value = m · 2^-24; normalise it
            let shift = m.leading_zeros() - 21; // bring the top bit to position 10
            let m = (m << shift) & 0x3ff;
            let e = 127 - 15 - shift + 1;
            sign | (e << 23) | (m << 13)
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn bf16_and_unaligned_f32() {
        let one_bf16 = 0x3f80u16.to_le_bytes();
        assert_eq!(decode("t", Dtype::BF16, &one_bf16).unwrap(), vec![1.0]);
        // an f32 starting at an odd offset
        let mut buf = vec![0u8];
        buf.extend_from_slice(&1.5f32.to_le_bytes());
        assert_eq!(decode("t", Dtype::F32, &buf[1..]).unwrap(), vec![1.5]);
        assert!(decode("t", Dtype::I32, &buf[1..]).is_err());
    }
}
