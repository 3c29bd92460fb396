//! The request checks every EC2 operation shares: `DryRun`, and the shape of the resource ids
//! a request names (a malformed id is refused before anything is looked up).

use crate::generated::Error;

/// AWS's answer to `--dry-run`: the request would have worked, and nothing was done.
pub fn check_dry_run(dry_run: Option<bool>) -> Result<(), Error> {
    if dry_run == Some(true) {
        return Err(Error::DryRunOperation(
            "Request would have succeeded, but DryRun flag is set.".into(),
        ));
    }
    Ok(())
}

/// Refuses the first of `params` (`(wire name, given)`) the request gives: parameters AWS
/// takes that wharf does not serve; `why` says what wharf does instead.
pub fn refuse_unsupported(params: &[(&str, bool)], why: &str) -> Result<(), Error> {
    match params.iter().find(|(_, given)| *given) {
        Some((name, _)) => Err(Error::InvalidParameterValue(format!(
            "wharf does not support {name}: {why}"
        ))),
        None => Ok(()),
    }
}

/// Refuses a security group id that is not `sg-...`.
pub fn check_group_id(id: &str) -> Result<(), Error> {
    if id.starts_with("sg-") {
        Ok(())
    } else {
        Err(Error::InvalidGroupIdMalformed(format!(
            "Invalid id: \"{id}\" (expecting \"sg-...\")"
        )))
    }
}

/// Refuses a network interface id that is not `eni-` and letters or digits.
pub fn check_interface_id(id: &str) -> Result<(), Error> {
    let well_formed = id
        .strip_prefix("eni-")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()));
    if well_formed {
        Ok(())
    } else {
        Err(Error::InvalidNetworkInterfaceIDMalformed(format!(
            "Invalid id: \"{id}\" (expecting \"eni-...\")"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_by_shape() {
        assert!(check_dry_run(None).is_ok() && check_dry_run(Some(false)).is_ok());
        assert!(matches!(
            check_dry_run(Some(true)),
            Err(Error::DryRunOperation(_))
        ));
        assert!(refuse_unsupported(&[("A", false), ("B", false)], "why").is_ok());
        assert_eq!(
            refuse_unsupported(&[("A", false), ("B", true), ("C", true)], "why."),
            Err(Error::InvalidParameterValue(
                "wharf does not support B: why.".into()
            ))
        );
        assert!(check_group_id("sg-1").is_ok());
        assert!(matches!(
            check_group_id("web"),
            Err(Error::InvalidGroupIdMalformed(_))
        ));
        assert!(check_interface_id("eni-0a1").is_ok());
        for bad in ["eni-", "eni-x_y", "sg-1", ""] {
            assert!(check_interface_id(bad).is_err(), "{bad}");
        }
    }
}
