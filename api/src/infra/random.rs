//! Random values from the operating system's generator.

use rand::Rng;
use rand::rngs::OsRng;

use crate::domain::member::{INVITE_CODE_ALPHABET, INVITE_CODE_LENGTH};
use crate::domain::reward::{COUPON_ALPHABET, COUPON_LENGTH};

/// A fresh invite code drawn from the unambiguous alphabet.
pub fn invite_code() -> String {
    code(INVITE_CODE_ALPHABET, INVITE_CODE_LENGTH)
}

/// A fresh coupon code: 16 characters of the unambiguous alphabet from the OS generator.
pub fn coupon_code() -> String {
    code(COUPON_ALPHABET, COUPON_LENGTH)
}

fn code(alphabet: &[u8], length: usize) -> String {
    let mut rng = OsRng;
    (0..length)
        .filter_map(|_| {
            alphabet
                .get(rng.gen_range(0..alphabet.len()))
                .map(|byte| char::from(*byte))
        })
        .collect()
}

/// `bytes` random bytes as lowercase hex (for secrets generated at start-up).
pub fn hex(bytes: usize) -> String {
    let mut rng = OsRng;
    (0..bytes)
        .map(|_| format!("{:02x}", rng.r#gen::<u8>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_use_only_the_unambiguous_alphabet() {
        for _ in 0..100 {
            let code = invite_code();
            assert_eq!(code.len(), INVITE_CODE_LENGTH);
            assert!(code.bytes().all(|b| INVITE_CODE_ALPHABET.contains(&b)));
        }
    }
}
