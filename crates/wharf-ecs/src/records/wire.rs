//! How a record type and its wire twin in `generated.rs` convert into each other: the [`Wire`]
//! trait, implemented field by field (no JSON on the way) by the [`record!`] macro that also
//! declares the record type with its fixed serde names.
//!
//! Record types are declared in this crate's source, not produced by codegen, so regenerating
//! `generated.rs` from a newer botocore never changes what is on disk: a new wire member fails
//! to compile in the conversion until someone decides whether ECS stores it (and bumps the
//! table's format if so).

use std::collections::BTreeMap;
use wharf_core::Timestamp;

/// A stored type and the wire type it is shown as (and read from).
pub trait Wire: Sized {
    /// The generated type.
    type Wire;
    /// The value as the API answers it.
    fn into_wire(self) -> Self::Wire;
    /// The value as ECS keeps it.
    fn from_wire(wire: Self::Wire) -> Self;
    /// Whether the member is left out of the stored JSON (an absent optional member).
    fn is_absent(&self) -> bool {
        false
    }
}

impl<T: Wire> Wire for Option<T> {
    type Wire = Option<T::Wire>;
    fn into_wire(self) -> Self::Wire {
        self.map(T::into_wire)
    }
    fn from_wire(wire: Self::Wire) -> Self {
        wire.map(T::from_wire)
    }
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T: Wire> Wire for Vec<T> {
    type Wire = Vec<T::Wire>;
    fn into_wire(self) -> Self::Wire {
        self.into_iter().map(T::into_wire).collect()
    }
    fn from_wire(wire: Self::Wire) -> Self {
        wire.into_iter().map(T::from_wire).collect()
    }
}

/// Types that are the same on the wire and in a record.
macro_rules! same_on_the_wire {
    ($($t:ty),* $(,)?) => {
        $(impl Wire for $t {
            type Wire = $t;
            fn into_wire(self) -> Self {
                self
            }
            fn from_wire(wire: Self) -> Self {
                wire
            }
        })*
    };
}

same_on_the_wire!(
    String,
    bool,
    i32,
    i64,
    f64,
    Timestamp,
    BTreeMap<String, String>,
    serde_json::Value,
);

/// Declares record types: each `pub struct Name: WireName { field: Type = "jsonName", ... }`
/// becomes a serde type whose JSON is that of `crate::generated::WireName` (the same member
/// names, absent optional members left out, missing members defaulted), with [`Wire`] and
/// `From` conversions both ways, member by member.
macro_rules! record {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident : $wire:ident {
            $($field:ident : $ty:ty = $json:literal),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                #[serde(rename = $json, skip_serializing_if = "crate::records::wire::Wire::is_absent")]
                pub $field: $ty,
            )*
        }

        impl $crate::records::wire::Wire for $name {
            type Wire = $crate::generated::$wire;
            fn into_wire(self) -> Self::Wire {
                $crate::generated::$wire {
                    $($field: $crate::records::wire::Wire::into_wire(self.$field),)*
                }
            }
            fn from_wire(wire: Self::Wire) -> Self {
                Self {
                    $($field: $crate::records::wire::Wire::from_wire(wire.$field),)*
                }
            }
        }

        impl From<$crate::generated::$wire> for $name {
            fn from(wire: $crate::generated::$wire) -> Self {
                $crate::records::wire::Wire::from_wire(wire)
            }
        }

        impl From<$name> for $crate::generated::$wire {
            fn from(record: $name) -> Self {
                $crate::records::wire::Wire::into_wire(record)
            }
        }
    )*};
}

pub(crate) use record;
