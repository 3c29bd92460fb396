//! GetRandomPassword (pure over an injected random source): AWS's character classes and rules.
//! By default a password has 32 characters from upper- and lower-case letters, digits and
//! AWS's punctuation set, with at least one character of each included class.

use crate::generated::{Error, GetRandomPasswordRequest, GetRandomPasswordResponse};
use rand::seq::SliceRandom;
use rand::{CryptoRng, Rng};

/// `PasswordLength` when none is given.
pub const DEFAULT_LENGTH: usize = 32;
/// The punctuation Secrets Manager uses: ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";

/// GetRandomPassword, from the operating system's random source.
pub fn get_random_password(
    input: &GetRandomPasswordRequest,
) -> Result<GetRandomPasswordResponse, Error> {
    Ok(GetRandomPasswordResponse {
        random_password: Some(generate(input, &mut rand::rngs::OsRng)?),
    })
}

/// A random password for `input`, drawn from `rng` (a cryptographically secure source).
pub fn generate<R: Rng + CryptoRng>(
    input: &GetRandomPasswordRequest,
    rng: &mut R,
) -> Result<String, Error> {
    let length = match input.password_length {
        None => DEFAULT_LENGTH,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=4096).contains(n))
            .ok_or_else(|| {
                Error::InvalidParameterException(format!(
                    "PasswordLength must be between 1 and 4096; {n} is not."
                ))
            })?,
    };
    let excluded: Vec<char> = input
        .exclude_characters
        .as_deref()
        .unwrap_or_default()
        .chars()
        .collect();
    let keep = |set: &str| -> Vec<char> { set.chars().filter(|c| !excluded.contains(c)).collect() };
    let flag = |f: Option<bool>| f.unwrap_or(false);

    // The classes the caller did not exclude, each with the characters left in it.
    let mut classes: Vec<Vec<char>> = Vec::new();
    for (excluded_class, set) in [
        (flag(input.exclude_lowercase), LOWER),
        (flag(input.exclude_uppercase), UPPER),
        (flag(input.exclude_numbers), DIGITS),
        (flag(input.exclude_punctuation), PUNCTUATION),
    ] {
        if !excluded_class {
            let chars = keep(set);
            if !chars.is_empty() {
                classes.push(chars);
            }
        }
    }
    let mut pool: Vec<char> = classes.iter().flatten().copied().collect();
    if flag(input.include_space) && !excluded.contains(&' ') {
        pool.push(' ');
    }
    if pool.is_empty() {
        return Err(Error::InvalidParameterException(
            "No characters are left to build a password from: ExcludeLowercase, ExcludeUppercase, ExcludeNumbers, ExcludePunctuation and ExcludeCharacters exclude them all.".into(),
        ));
    }

    let mut password: Vec<char> = Vec::with_capacity(length);
    if input.require_each_included_type.unwrap_or(true) {
        if length < classes.len() {
            return Err(Error::InvalidParameterException(format!(
                "Password length is too short based on the required types: a password with one character of each of the {} included types needs PasswordLength {} or more.",
                classes.len(),
                classes.len()
            )));
        }
        for class in &classes {
            if let Some(c) = class.choose(rng) {
                password.push(*c);
            }
        }
    }
    while password.len() < length {
        if let Some(c) = pool.choose(rng) {
            password.push(*c);
        }
    }
    password.shuffle(rng);
    Ok(password.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn gen(input: GetRandomPasswordRequest) -> Result<String, Error> {
        generate(&input, &mut StdRng::seed_from_u64(7))
    }

    #[test]
    fn default_is_32_characters_of_every_class() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let p = generate(&GetRandomPasswordRequest::default(), &mut rng).unwrap();
            assert_eq!(p.chars().count(), 32);
            assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
            assert!(p.chars().any(|c| PUNCTUATION.contains(c)), "{p}");
            assert!(!p.contains(' '));
        }
    }

    #[test]
    fn exclusions_are_honoured() {
        let mut rng = StdRng::seed_from_u64(2);
        let input = GetRandomPasswordRequest {
            password_length: Some(4096),
            exclude_characters: Some("abcXYZ019!@".into()),
            exclude_punctuation: Some(false),
            include_space: Some(true),
            ..GetRandomPasswordRequest::default()
        };
        let p = generate(&input, &mut rng).unwrap();
        assert_eq!(p.chars().count(), 4096);
        assert!(!p.chars().any(|c| "abcXYZ019!@".contains(c)), "{p}");
        assert!(p.contains(' '));

        let only_digits = GetRandomPasswordRequest {
            password_length: Some(50),
            exclude_lowercase: Some(true),
            exclude_uppercase: Some(true),
            exclude_punctuation: Some(true),
            ..GetRandomPasswordRequest::default()
        };
        let p = generate(&only_digits, &mut rng).unwrap();
        assert!(p.chars().all(|c| c.is_ascii_digit()), "{p}");

        let letters = GetRandomPasswordRequest {
            exclude_numbers: Some(true),
            exclude_punctuation: Some(true),
            ..GetRandomPasswordRequest::default()
        };
        let p = generate(&letters, &mut rng).unwrap();
        assert!(p.chars().all(|c| c.is_ascii_alphabetic()), "{p}");
    }

    #[test]
    fn short_and_impossible_requests_are_refused() {
        // Four required classes do not fit in three characters...
        let err = gen(GetRandomPasswordRequest {
            password_length: Some(3),
            ..GetRandomPasswordRequest::default()
        })
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidParameterException(m) if m.starts_with("Password length is too short"))
        );
        // ...unless each class need not appear.
        let p = gen(GetRandomPasswordRequest {
            password_length: Some(1),
            require_each_included_type: Some(false),
            ..GetRandomPasswordRequest::default()
        })
        .unwrap();
        assert_eq!(p.chars().count(), 1);
        let err = gen(GetRandomPasswordRequest {
            exclude_lowercase: Some(true),
            exclude_uppercase: Some(true),
            exclude_numbers: Some(true),
            exclude_punctuation: Some(true),
            ..GetRandomPasswordRequest::default()
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(_)));
        let err = gen(GetRandomPasswordRequest {
            password_length: Some(0),
            ..GetRandomPasswordRequest::default()
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidParameterException(m) if m.contains("PasswordLength")));
        // A class emptied by ExcludeCharacters is no longer required.
        let p = gen(GetRandomPasswordRequest {
            password_length: Some(3),
            exclude_characters: Some(PUNCTUATION.into()),
            ..GetRandomPasswordRequest::default()
        })
        .unwrap();
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()), "{p}");
    }
}
