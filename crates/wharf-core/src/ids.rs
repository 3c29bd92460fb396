//! Identifier generation. Ids are made here and passed into the store, never invented by it.

use rand::Rng;

/// Makes the random parts of AWS identifiers.
pub trait IdGen: Send + Sync + 'static {
    /// `n` random lowercase hex digits.
    fn hex(&self, n: usize) -> String;

    /// A random UUID v4 in its usual 8-4-4-4-12 form.
    fn uuid(&self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            ["8", "9", "a", "b"][usize::from(h.as_bytes()[16] % 4)],
            &h[17..20],
            &h[20..32]
        )
    }

    /// `n` random characters from `alphabet`.
    fn chars(&self, n: usize, alphabet: &[u8]) -> String;
}

/// Ids from the operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn hex(&self, n: usize) -> String {
        let mut rng = rand::thread_rng();
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect()
    }

    fn chars(&self, n: usize, alphabet: &[u8]) -> String {
        if alphabet.is_empty() {
            return String::new();
        }
        let mut rng = rand::thread_rng();
        (0..n)
            .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
            .collect()
    }
}

/// Upper-case letters and digits, the alphabet of IAM unique ids and access keys.
pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_v4_shape() {
        let u = RandomIds.uuid();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
    }
}
