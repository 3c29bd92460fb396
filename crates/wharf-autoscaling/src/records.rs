//! What Application Auto Scaling keeps in the store: its tables, keys and record types (owned types, never
//! the generated wire types).

use wharf_store::TableFormat;

/// Every table of Application Auto Scaling, with the format this wharf writes (checked by the server at
/// start).
pub const TABLES: &[TableFormat] = &[];
