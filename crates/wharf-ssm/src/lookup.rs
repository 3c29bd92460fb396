//! Parameters read as every operation sees them: one whose Expiration policy has passed is
//! gone, whether or not it is still stored.

use crate::policies;
use crate::records::{self, StoredParameter, PARAMETERS};
use wharf_core::Timestamp;
use wharf_store::{StoreError, Tx};

/// The live parameter among `names` (the first that exists) of `account` in `region`: one
/// whose Expiration policy has passed at `now` is gone.
pub(crate) fn find(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    names: &[String],
    now: Timestamp,
) -> Result<Option<StoredParameter>, StoreError> {
    for name in names {
        if let Some(p) = load(tx, account, region, name, now)? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Parameter `name` of `account` in `region`, unless absent or expired at `now`.
pub(crate) fn load(
    tx: &Tx<'_>,
    account: &str,
    region: &str,
    name: &str,
    now: Timestamp,
) -> Result<Option<StoredParameter>, StoreError> {
    let found: Option<StoredParameter> =
        tx.get(PARAMETERS, &records::key(account, region, name))?;
    Ok(found.filter(|p| live(p, now)))
}

/// Whether `p` still exists at `now` (its Expiration policy, if any, has not passed).
pub(crate) fn live(p: &StoredParameter, now: Timestamp) -> bool {
    !policies::expired(&p.current().policies, now)
}
