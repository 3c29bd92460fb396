//! The rule `ModifyVpcAttribute` and `ModifySubnetAttribute` share: one call changes exactly
//! one attribute, as AWS requires, and a boolean attribute carries its `Value`.

use crate::generated::{AttributeBooleanValue, Error};

/// The name of the one attribute given among `given` (`(wire name, present)`), else AWS's
/// refusal: `MissingParameter` for none, `InvalidParameterCombination` for several.
pub fn the_one<'a>(given: &[(&'a str, bool)]) -> Result<&'a str, Error> {
    let present: Vec<&str> = given
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| *name)
        .collect();
    match present.as_slice() {
        [one] => Ok(one),
        [] => {
            let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
            Err(Error::MissingParameter(format!(
                "The request must contain exactly one attribute to modify: {}.",
                names.join(", ")
            )))
        }
        several => Err(Error::InvalidParameterCombination(format!(
            "Fields for multiple attribute types specified: {}",
            several.join(", ")
        ))),
    }
}

/// The `Value` of boolean attribute `name`, required when the attribute is given.
pub fn bool_value(value: Option<&AttributeBooleanValue>, name: &str) -> Result<bool, Error> {
    value.and_then(|v| v.value).ok_or_else(|| {
        Error::MissingParameter(format!(
            "The request must contain the parameter {name}.Value"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_attribute_per_call() {
        assert_eq!(the_one(&[("a", false), ("b", true)]), Ok("b"));
        assert_eq!(
            the_one(&[("a", false), ("b", false)]),
            Err(Error::MissingParameter(
                "The request must contain exactly one attribute to modify: a, b.".into()
            ))
        );
        assert_eq!(
            the_one(&[("a", true), ("b", true), ("c", false)]),
            Err(Error::InvalidParameterCombination(
                "Fields for multiple attribute types specified: a, b".into()
            ))
        );
    }

    #[test]
    fn boolean_attributes_need_their_value() {
        let on = AttributeBooleanValue { value: Some(true) };
        assert_eq!(bool_value(Some(&on), "x"), Ok(true));
        assert!(bool_value(Some(&AttributeBooleanValue { value: None }), "x").is_err());
        assert!(bool_value(None, "x").is_err());
    }
}
