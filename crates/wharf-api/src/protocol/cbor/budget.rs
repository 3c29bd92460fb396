//! What a CBOR body would cost before anything is built from it. A data item can be one byte, so
//! an 8 MiB body could announce eight million items, each a value of tens of bytes once decoded:
//! hundreds of megabytes for one request. [`check`] walks the heads of the body without
//! allocating (but for the stack of open containers) and refuses more than [`MAX_ITEMS`] items
//! or nesting deeper than the decoder allows; what it lets through costs about what the same
//! request costs in JSON. It checks sizes only: the decoder still checks everything else.

/// The most data items a request body may hold: AWS's largest inputs (a PutMetricData of 1,000
/// metrics, each with 150 values and counts and 30 dimensions) hold under half a million.
pub const MAX_ITEMS: usize = 1 << 21;

/// An open container: the items it still expects, or an indefinite-length one (closed by a
/// break).
enum Open {
    Counted(u64),
    Indefinite,
}

/// Whether the first data item of `body` stays within [`MAX_ITEMS`] items and `max_depth`
/// levels, with every announced length present. Trailing bytes are left to the decoder.
pub fn check(body: &[u8], max_depth: usize) -> Result<(), String> {
    let mut open: Vec<Open> = Vec::new();
    let mut at = 0usize;
    let mut items = 0usize;
    loop {
        let initial = *body.get(at).ok_or_else(ends_inside)?;
        at += 1;
        if initial == 0xff {
            if !matches!(open.pop(), Some(Open::Indefinite)) {
                return Err(format!(
                    "the request body is not valid CBOR (a break at byte {})",
                    at - 1
                ));
            }
        } else {
            items += 1;
            if items > MAX_ITEMS {
                return Err(format!(
                    "the request body holds more than {MAX_ITEMS} CBOR data items"
                ));
            }
            let (major, info) = (initial >> 5, initial & 0x1f);
            let arg = match info {
                0..=23 => Some(u64::from(info)),
                24..=27 => {
                    let n = 1usize << (info - 24);
                    let bytes = body.get(at..at + n).ok_or_else(ends_inside)?;
                    at += n;
                    Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
                }
                31 => None,
                _ => {
                    return Err(format!(
                        "the request body is not valid CBOR (reserved head at byte {})",
                        at - 1
                    ))
                }
            };
            let opened = match (major, arg) {
                // Strings: skip the bytes; an indefinite one is a run of chunks up to a break.
                (2 | 3, Some(len)) => {
                    let len = usize::try_from(len).map_err(|_| ends_inside())?;
                    at = at
                        .checked_add(len)
                        .filter(|end| *end <= body.len())
                        .ok_or_else(ends_inside)?;
                    None
                }
                (2..=5, None) => Some(Open::Indefinite),
                (4, Some(n)) => (n > 0).then_some(Open::Counted(n)),
                (5, Some(n)) => (n > 0).then_some(Open::Counted(n.saturating_mul(2))),
                // A tag is followed by the one item it tags.
                (6, Some(_)) => Some(Open::Counted(1)),
                (0 | 1 | 7, Some(_)) => None,
                _ => {
                    return Err(format!(
                        "the request body is not valid CBOR (indefinite length at byte {})",
                        at - 1
                    ))
                }
            };
            if let Some(container) = opened {
                open.push(container);
                if open.len() > max_depth {
                    return Err(format!(
                        "the request body nests deeper than {max_depth} levels"
                    ));
                }
                continue;
            }
        }
        // An item is complete: so is every counted container it was the last item of.
        loop {
            match open.last_mut() {
                None => return Ok(()),
                Some(Open::Indefinite) => break,
                Some(Open::Counted(left)) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

fn ends_inside() -> String {
    "the request body ends inside a CBOR data item".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciborium::value::Value as Cbor;

    fn bytes(value: &Cbor) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).unwrap();
        out
    }

    #[test]
    fn well_formed_items_pass() {
        let nested = Cbor::Map(vec![
            (
                Cbor::Text("a".into()),
                Cbor::Array(vec![Cbor::Integer(1.into()); 3]),
            ),
            (
                Cbor::Text("t".into()),
                Cbor::Tag(1, Box::new(Cbor::Float(1.5))),
            ),
            (Cbor::Text("b".into()), Cbor::Bytes(vec![0; 300])),
            (Cbor::Text("m".into()), Cbor::Map(vec![])),
        ]);
        assert_eq!(check(&bytes(&nested), 64), Ok(()));
        // Indefinite map, array and chunked text.
        let indefinite = [
            0xbf, 0x61, b'a', 0x9f, 0x01, 0x7f, 0x61, b'x', 0xff, 0xff, 0xff,
        ];
        assert_eq!(check(&indefinite, 64), Ok(()));
        assert_eq!(check(&[0xa0], 64), Ok(()));
        assert_eq!(check(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0], 64), Ok(()));
    }

    #[test]
    fn too_many_items_too_deep_or_too_short_is_refused() {
        let mut many = vec![0x9a];
        many.extend(u32::try_from(MAX_ITEMS).unwrap().to_be_bytes());
        many.extend(std::iter::repeat_n(0x00, MAX_ITEMS));
        let e = check(&many, 64).unwrap_err();
        assert!(e.contains("more than 2097152"), "{e}");
        let mut deep = vec![0x81; 65];
        deep.push(0x00);
        assert!(check(&deep, 64).unwrap_err().contains("deeper than 64"));
        assert_eq!(check(&deep[1..], 64), Ok(()));
        for short in [
            &[][..],
            &[0x82, 0x01],
            &[0x5a, 0xff, 0xff, 0xff, 0xff],
            &[0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0x19, 0x01],
            &[0xbf],
        ] {
            assert!(
                check(short, 64).unwrap_err().contains("ends inside"),
                "{short:?}"
            );
        }
        assert!(check(&[0xff], 64).unwrap_err().contains("a break"));
        assert!(check(&[0x1c], 64).unwrap_err().contains("reserved"));
        assert!(check(&[0x1f], 64)
            .unwrap_err()
            .contains("indefinite length"));
        assert!(check(&[0xdf, 0x00], 64)
            .unwrap_err()
            .contains("indefinite length"));
    }
}
