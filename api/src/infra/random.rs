//! Random values from the operating system's generator.

use rand::Rng;
use rand::rngs::OsRng;

use crate::domain::member::{INVITE_CODE_ALPHABET, INVITE_CODE_LENGTH};

/// A fresh invite code drawn from the unambiguous alphabet.
pub fn invite_code() -> String {
    let mut rng = OsRng;
    (0..INVITE_CODE_LENGTH)
        .filter_map(|_| {
            INVITE_CODE_ALPHABET
                .get(rng.gen_range(0..INVITE_CODE_ALPHABET.len()))
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
