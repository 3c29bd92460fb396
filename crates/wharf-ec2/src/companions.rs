//! What AWS creates with every VPC: its main route table (only the `local` route), its default
//! network ACL (allow everything) and its `default` security group. CreateVpc and the default
//! network both make them here, in the caller's transaction.

use crate::records::{
    scoped_key, GroupRecord, NetworkAclRecord, RouteTableRecord, VpcRecord, GROUPS, NETWORK_ACLS,
    ROUTE_TABLES,
};
use wharf_core::IdGen;
use wharf_store::{StoreError, Tx};

/// The ids of what [`create`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Companions {
    /// The main route table.
    pub main_route_table: String,
    /// The default network ACL.
    pub network_acl: String,
    /// The `default` security group.
    pub security_group: String,
}

/// Creates `vpc`'s main route table, default ACL and default group (`with_group`: false when
/// the group exists already, as for default networks made before route tables were modelled).
pub fn create(
    ids: &dyn IdGen,
    tx: &Tx<'_>,
    region: &str,
    vpc: &VpcRecord,
    with_group: Option<&str>,
) -> Result<Companions, StoreError> {
    let account = vpc.owner_id.as_str();
    let table = RouteTableRecord::new_for_vpc(ids, &vpc.id, &vpc.cidr_block, account, true);
    tx.put(
        ROUTE_TABLES,
        &scoped_key(account, region, &table.id),
        &table,
    )?;
    let acl = NetworkAclRecord::default_for_vpc(ids, &vpc.id, account);
    tx.put(NETWORK_ACLS, &scoped_key(account, region, &acl.id), &acl)?;
    let security_group = match with_group {
        Some(existing) => existing.to_string(),
        None => {
            let group = GroupRecord::default_for_vpc(ids, &vpc.id, account);
            tx.put(GROUPS, &scoped_key(account, region, &group.id), &group)?;
            group.id
        }
    };
    Ok(Companions {
        main_route_table: table.id,
        network_acl: acl.id,
        security_group,
    })
}
