//! What EC2 keeps in the store: the record types, their tables and keys.
//!
//! Five tables, all format 1 (the shapes written before the store was versioned). EC2 is
//! regional, so every resource is keyed `<account>/<region>/<id>` ([`scoped_key`]):
//! - `ec2_vpcs`: [`VpcRecord`];
//! - `ec2_subnets`: [`SubnetRecord`];
//! - `ec2_default_networks`: [`DefaultNetwork`], keyed `<account>/<region>`
//!   ([`default_network_key`]): which VPC, subnets and group make up the default network;
//! - `ec2_security_groups`: [`GroupRecord`] with its [`Rule`]s inside (so an authorize or
//!   revoke is one atomic record update);
//! - `ec2_network_interfaces`: [`InterfaceRecord`].
//!
//! The records are owned types, never the generated wire types: regenerating `generated` cannot
//! change what is on disk. Their conversions to the wire live with the operations that answer
//! with them.

use serde::{Deserialize, Serialize};
use wharf_core::{IdGen, Timestamp};
use wharf_store::{Table, TableFormat};

/// VPCs, keyed [`scoped_key`]. Format 2 added the DNS attributes and tenancy.
pub const VPCS: Table<VpcRecord> = Table::new("ec2_vpcs", 2).upgraded_by(upgrade_vpc);
/// Subnets, keyed [`scoped_key`].
pub const SUBNETS: Table<SubnetRecord> = Table::new("ec2_subnets", 1);
/// The default network of each account and region, keyed [`default_network_key`].
/// Format 2 added `routing_created`.
pub const DEFAULT_NETWORKS: Table<DefaultNetwork> =
    Table::new("ec2_default_networks", 2).upgraded_by(upgrade_default_network);
/// Security groups, keyed [`scoped_key`].
pub const GROUPS: Table<GroupRecord> = Table::new("ec2_security_groups", 1);
/// Network interfaces, keyed [`scoped_key`].
pub const INTERFACES: Table<InterfaceRecord> = Table::new("ec2_network_interfaces", 1);
/// Internet gateways, keyed [`scoped_key`].
pub const INTERNET_GATEWAYS: Table<InternetGatewayRecord> = Table::new("ec2_internet_gateways", 1);
/// Route tables with their routes and associations, keyed [`scoped_key`].
pub const ROUTE_TABLES: Table<RouteTableRecord> = Table::new("ec2_route_tables", 1);
/// Elastic IP addresses, keyed [`scoped_key`] by allocation id.
pub const ADDRESSES: Table<AddressRecord> = Table::new("ec2_addresses", 1);
/// NAT gateways, keyed [`scoped_key`].
pub const NAT_GATEWAYS: Table<NatGatewayRecord> = Table::new("ec2_nat_gateways", 1);
/// VPC endpoints, keyed [`scoped_key`].
pub const VPC_ENDPOINTS: Table<VpcEndpointRecord> = Table::new("ec2_vpc_endpoints", 1);
/// Network ACLs, keyed [`scoped_key`].
pub const NETWORK_ACLS: Table<NetworkAclRecord> = Table::new("ec2_network_acls", 1);

/// Every table of EC2, with the format this wharf writes (checked by the server at start).
pub const TABLES: &[TableFormat] = &[
    VPCS.format(),
    SUBNETS.format(),
    DEFAULT_NETWORKS.format(),
    GROUPS.format(),
    INTERFACES.format(),
    INTERNET_GATEWAYS.format(),
    ROUTE_TABLES.format(),
    ADDRESSES.format(),
    NAT_GATEWAYS.format(),
    VPC_ENDPOINTS.format(),
    NETWORK_ACLS.format(),
];

/// The name of every VPC's default group, reserved for it.
pub const DEFAULT_GROUP_NAME: &str = "default";

/// The store key of resource `id` of `account` in `region`.
pub fn scoped_key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

/// The key prefix of every resource of `account` in `region`.
pub fn scope_prefix(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

/// The key of the default network of `account` in `region`.
pub fn default_network_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

/// One tag as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceTag {
    /// The tag key.
    pub key: String,
    /// The tag value (empty when none was given).
    pub value: String,
}

/// A VPC as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcRecord {
    /// `vpc-` + 17 hex digits.
    pub id: String,
    /// The primary IPv4 range.
    pub cidr_block: String,
    /// `vpc-cidr-assoc-...`, the id of the primary CIDR's association.
    pub cidr_association_id: String,
    /// `dopt-...`.
    pub dhcp_options_id: String,
    /// Whether this is the account's default VPC in the region.
    pub is_default: bool,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
    /// `enableDnsSupport` (true unless turned off).
    pub enable_dns_support: bool,
    /// `enableDnsHostnames`: true for the default VPC, false for a created one until turned on.
    pub enable_dns_hostnames: bool,
    /// `enableNetworkAddressUsageMetrics`.
    pub enable_network_address_usage_metrics: bool,
    /// `InstanceTenancy` as given (`default` or `dedicated`; kept, without effect).
    pub instance_tenancy: String,
}

/// Format 1 -> 2 of `ec2_vpcs`: format 1 VPCs are all default VPCs, whose DNS support and
/// hostnames are on.
fn upgrade_vpc(from: u32, mut value: serde_json::Value) -> Result<serde_json::Value, String> {
    if from != 1 {
        return Err(format!("no upgrade of ec2_vpcs from format {from}"));
    }
    let v = value
        .as_object_mut()
        .ok_or("a vpc record is not an object")?;
    v.insert("enable_dns_support".into(), true.into());
    v.insert("enable_dns_hostnames".into(), true.into());
    v.insert("enable_network_address_usage_metrics".into(), false.into());
    v.insert("instance_tenancy".into(), "default".into());
    Ok(value)
}

/// Format 1 -> 2 of `ec2_default_networks`: the default network's internet gateway, main
/// route table and network ACL are made on its next use.
fn upgrade_default_network(
    from: u32,
    mut value: serde_json::Value,
) -> Result<serde_json::Value, String> {
    if from != 1 {
        return Err(format!(
            "no upgrade of ec2_default_networks from format {from}"
        ));
    }
    let v = value
        .as_object_mut()
        .ok_or("a default network record is not an object")?;
    v.insert("routing_created".into(), false.into());
    Ok(value)
}

/// A subnet as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetRecord {
    /// `subnet-` + 17 hex digits.
    pub id: String,
    /// The VPC it belongs to.
    pub vpc_id: String,
    /// Its IPv4 range.
    pub cidr_block: String,
    /// `us-east-1a`.
    pub availability_zone: String,
    /// `use1-az1`.
    pub availability_zone_id: String,
    /// Whether it is the default subnet of its zone.
    pub default_for_az: bool,
    /// `MapPublicIpOnLaunch`.
    pub map_public_ip_on_launch: bool,
    /// `AvailableIpAddressCount`.
    pub available_ip_address_count: i32,
    /// The owning account.
    pub owner_id: String,
    /// `SubnetArn`.
    pub arn: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

/// Which resources make up an account's default network in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultNetwork {
    /// The default VPC.
    pub vpc_id: String,
    /// Its default subnets, one per zone, in zone order.
    pub subnet_ids: Vec<String>,
    /// Its `default` security group.
    pub security_group_id: String,
    /// Whether the internet gateway, main route table and default network ACL AWS gives a
    /// default VPC exist (networks created before they were modelled get them on next use).
    pub routing_created: bool,
}

/// A security group as stored, with all its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// `sg-` + 17 hex digits.
    pub id: String,
    /// `GroupName`, unique within the VPC.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// The VPC the group belongs to.
    pub vpc_id: String,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
    /// Inbound and outbound rules, in the order they were authorized.
    pub rules: Vec<Rule>,
}

impl GroupRecord {
    /// The `default` group of a new VPC: members may reach each other, and anything outbound.
    pub fn default_for_vpc(ids: &dyn IdGen, vpc_id: &str, owner: &str) -> Self {
        let id = format!("sg-{}", ids.hex(17));
        let self_rule = Rule {
            id: Rule::new_id(ids),
            egress: false,
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            peer: Peer::Group {
                group_id: id.clone(),
                user_id: owner.into(),
            },
            description: None,
            tags: Vec::new(),
        };
        Self {
            rules: vec![self_rule, Rule::allow_all_egress(ids)],
            id,
            name: DEFAULT_GROUP_NAME.into(),
            description: "default VPC security group".into(),
            vpc_id: vpc_id.into(),
            owner_id: owner.into(),
            tags: Vec::new(),
        }
    }
}

/// Who a rule lets traffic come from (ingress) or go to (egress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Peer {
    /// An IPv4 CIDR block.
    Ipv4(String),
    /// An IPv6 CIDR block.
    Ipv6(String),
    /// A managed prefix list (`pl-...`).
    PrefixList(String),
    /// Another security group (or the group itself).
    Group {
        /// The referenced group's id.
        group_id: String,
        /// The account owning the referenced group.
        user_id: String,
    },
}

impl Peer {
    /// The peer as AWS names it in rule messages.
    pub fn label(&self) -> &str {
        match self {
            Peer::Ipv4(c) | Peer::Ipv6(c) | Peer::PrefixList(c) => c,
            Peer::Group { group_id, .. } => group_id,
        }
    }
}

/// One stored security group rule: one (direction, protocol, port range, peer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `sgr-` + 17 hex digits.
    pub id: String,
    /// Outbound (`IpPermissionsEgress`) rather than inbound.
    pub egress: bool,
    /// Normalised protocol: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or a number.
    pub protocol: String,
    /// First port or ICMP type; `None` when the protocol has no ports.
    pub from_port: Option<i32>,
    /// Last port or ICMP code; `None` when the protocol has no ports.
    pub to_port: Option<i32>,
    /// Whom the rule applies to.
    pub peer: Peer,
    /// The rule's description.
    pub description: Option<String>,
    /// Tags given by `TagSpecifications` of type `security-group-rule`.
    #[serde(default)]
    pub tags: Vec<ResourceTag>,
}

impl Rule {
    /// A new rule id: `sgr-` + 17 hex digits.
    pub fn new_id(ids: &dyn IdGen) -> String {
        format!("sgr-{}", ids.hex(17))
    }

    /// The allow-all egress rule every group starts with.
    pub fn allow_all_egress(ids: &dyn IdGen) -> Self {
        Self {
            id: Self::new_id(ids),
            egress: true,
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            peer: Peer::Ipv4("0.0.0.0/0".into()),
            description: None,
            tags: Vec::new(),
        }
    }

    /// Whether this rule is the same rule as (direction, protocol, ports, peer); descriptions do
    /// not make rules different.
    pub fn same_as(
        &self,
        egress: bool,
        protocol: &str,
        from: Option<i32>,
        to: Option<i32>,
        peer: &Peer,
    ) -> bool {
        self.egress == egress
            && self.protocol == protocol
            && self.from_port == from
            && self.to_port == to
            && self.peer == *peer
    }
}

/// A network interface as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceRecord {
    /// `eni-` + 17 hex digits.
    pub id: String,
    /// The subnet it is in.
    pub subnet_id: String,
    /// The subnet's VPC.
    pub vpc_id: String,
    /// The subnet's zone.
    pub availability_zone: String,
    /// The zone id (`use1-az1`), copied from the subnet.
    pub availability_zone_id: String,
    /// The ECS attachment ARN the interface belongs to.
    pub description: String,
    /// The MAC address the runtime gave it.
    pub mac_address: String,
    /// Its private IPv4 address.
    pub private_ip: String,
    /// Auto-assigned public address (`assignPublicIp=ENABLED`).
    pub public_ip: Option<String>,
    /// Security groups, with the names they had when the interface was created (a group in use
    /// cannot be deleted, and groups cannot be renamed).
    pub groups: Vec<GroupRef>,
    /// The owning account.
    pub owner_id: String,
    /// `ela-attach-` + 17 hex digits.
    pub attachment_id: String,
    /// When the runtime recorded it.
    pub attach_time: Timestamp,
    /// Tags.
    pub tags: Vec<ResourceTag>,
    /// `InterfaceType` when it is not a task's (`interface`): `nat_gateway`, `vpc_endpoint`.
    /// Absent in records of tasks' interfaces (so their JSON is format 1's unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_type: Option<String>,
}

/// An internet gateway as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetGatewayRecord {
    /// `igw-` + 17 hex digits.
    pub id: String,
    /// The VPC it is attached to (AWS attaches at most one).
    pub attached_vpc: Option<String>,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteTarget {
    /// Inside the VPC (`GatewayId: local`), the route every table starts with.
    Local,
    /// An internet gateway (`igw-...`).
    InternetGateway(String),
    /// A NAT gateway (`nat-...`).
    NatGateway(String),
    /// A gateway VPC endpoint (`vpce-...`, the S3 / DynamoDB prefix list routes).
    VpcEndpoint(String),
    /// A network interface (`eni-...`).
    NetworkInterface(String),
}

/// One route of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    /// `DestinationCidrBlock`; `None` for a prefix-list route.
    pub destination_cidr: Option<String>,
    /// `DestinationPrefixListId` (`pl-...`) of a gateway endpoint's route.
    pub destination_prefix_list: Option<String>,
    /// Where it sends traffic.
    pub target: RouteTarget,
    /// `CreateRouteTable` (the local route), `CreateRoute` or `CreateVpcEndpoint`... as AWS
    /// shows `Origin`.
    pub origin: String,
}

/// A route table's association with a subnet, or the main association of its VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableAssociationRecord {
    /// `rtbassoc-` + 17 hex digits.
    pub id: String,
    /// The associated subnet; `None` for the main association.
    pub subnet_id: Option<String>,
    /// Whether this is the VPC's main association.
    pub main: bool,
}

/// A route table as stored, with its routes and associations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTableRecord {
    /// `rtb-` + 17 hex digits.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Routes, in the order they were made.
    pub routes: Vec<RouteRecord>,
    /// Associations (the main one first, when this is the main table).
    pub associations: Vec<RouteTableAssociationRecord>,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

impl RouteTableRecord {
    /// A new table of `vpc_id` (range `vpc_cidr`) with only the local route; `main` gives it
    /// the VPC's main association (what CreateVpc makes).
    pub fn new_for_vpc(
        ids: &dyn IdGen,
        vpc_id: &str,
        vpc_cidr: &str,
        owner: &str,
        main: bool,
    ) -> Self {
        let associations = if main {
            vec![RouteTableAssociationRecord {
                id: format!("rtbassoc-{}", ids.hex(17)),
                subnet_id: None,
                main: true,
            }]
        } else {
            Vec::new()
        };
        Self {
            id: format!("rtb-{}", ids.hex(17)),
            vpc_id: vpc_id.into(),
            routes: vec![RouteRecord {
                destination_cidr: Some(vpc_cidr.into()),
                destination_prefix_list: None,
                target: RouteTarget::Local,
                origin: "CreateRouteTable".into(),
            }],
            associations,
            owner_id: owner.into(),
            tags: Vec::new(),
        }
    }

    /// Whether this is its VPC's main route table.
    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.main)
    }
}

/// An Elastic IP address as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRecord {
    /// `eipalloc-` + 17 hex digits.
    pub allocation_id: String,
    /// The public address, from wharf's Elastic IP range.
    pub public_ip: String,
    /// What uses it: a NAT gateway or a network interface.
    pub association: Option<AddressAssociation>,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

/// What an Elastic IP is associated with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressAssociation {
    /// `eipassoc-` + 17 hex digits.
    pub id: String,
    /// The interface holding the address (a NAT gateway's own interface included).
    pub network_interface_id: String,
    /// The interface's private address.
    pub private_ip: String,
    /// The NAT gateway, when the interface is one's.
    pub nat_gateway_id: Option<String>,
}

/// A NAT gateway as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGatewayRecord {
    /// `nat-` + 17 hex digits.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// The subnet it sits in.
    pub subnet_id: String,
    /// `public` or `private`.
    pub connectivity_type: String,
    /// The Elastic IP's allocation id (public NAT gateways).
    pub allocation_id: Option<String>,
    /// The Elastic IP's address.
    pub public_ip: Option<String>,
    /// Its interface in the subnet (`eni-...`) and that interface's address.
    pub network_interface_id: String,
    /// The interface's private address.
    pub private_ip: String,
    /// When it was created; it is `pending` until `available_at`.
    pub create_time: Timestamp,
    /// When it becomes `available` (creation plus the provisioning time).
    pub available_at: Timestamp,
    /// When DeleteNatGateway was called; it shows `deleting`, then `deleted`.
    pub delete_time: Option<Timestamp>,
    /// `failed` instead of `available`, with AWS's code and message.
    pub failure: Option<(String, String)>,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

/// A VPC endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpointRecord {
    /// `vpce-` + 17 hex digits.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// `com.amazonaws.<region>.<service>`.
    pub service_name: String,
    /// `Gateway` or `Interface`.
    pub endpoint_type: String,
    /// Gateway endpoints: the route tables given a route to the service's prefix list.
    pub route_table_ids: Vec<String>,
    /// Interface endpoints: one subnet per zone, each with an interface of the endpoint.
    pub subnet_ids: Vec<String>,
    /// Interface endpoints: the interfaces (`eni-...`), one per subnet, in subnet order.
    pub network_interface_ids: Vec<String>,
    /// Interface endpoints: the security groups of the interfaces.
    pub security_group_ids: Vec<String>,
    /// Interface endpoints: whether the service's default name resolves to the endpoint.
    pub private_dns_enabled: bool,
    /// The endpoint policy (JSON), as given or AWS's full-access default.
    pub policy_document: String,
    /// When it was created.
    pub creation_timestamp: Timestamp,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

/// One numbered rule of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclEntryRecord {
    /// `RuleNumber` (32767 is the catch-all deny `*`).
    pub rule_number: i32,
    /// Outbound rather than inbound.
    pub egress: bool,
    /// `-1` or a protocol number.
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    /// `CidrBlock`.
    pub cidr_block: String,
}

/// A network ACL's association with a subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclAssociationRecord {
    /// `aclassoc-` + 17 hex digits.
    pub id: String,
    /// The subnet.
    pub subnet_id: String,
}

/// A network ACL as stored (wharf keeps each VPC's default one: it allows everything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclRecord {
    /// `acl-` + 17 hex digits.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Whether it is its VPC's default ACL.
    pub is_default: bool,
    /// Its rules.
    pub entries: Vec<NetworkAclEntryRecord>,
    /// The subnets it applies to.
    pub associations: Vec<NetworkAclAssociationRecord>,
    /// The owning account.
    pub owner_id: String,
    /// Tags.
    pub tags: Vec<ResourceTag>,
}

impl NetworkAclRecord {
    /// The default ACL AWS gives a new VPC: allow all in and out (rule 100), deny the rest
    /// (rule 32767), for IPv4.
    pub fn default_for_vpc(ids: &dyn IdGen, vpc_id: &str, owner: &str) -> Self {
        let entry = |egress: bool, rule_number: i32, rule_action: &str| NetworkAclEntryRecord {
            rule_number,
            egress,
            protocol: "-1".into(),
            rule_action: rule_action.into(),
            cidr_block: "0.0.0.0/0".into(),
        };
        Self {
            id: format!("acl-{}", ids.hex(17)),
            vpc_id: vpc_id.into(),
            is_default: true,
            entries: vec![
                entry(true, 100, "allow"),
                entry(true, 32767, "deny"),
                entry(false, 100, "allow"),
                entry(false, 32767, "deny"),
            ],
            associations: Vec::new(),
            owner_id: owner.into(),
            tags: Vec::new(),
        }
    }
}

/// A security group an interface is a member of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    /// `sg-...`.
    pub id: String,
    /// The group's name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    fn round_trip<T: Serialize + DeserializeOwned>(json: &str) {
        let record: T = serde_json::from_str(json).expect("decodes");
        assert_eq!(serde_json::to_string(&record).expect("encodes"), json);
    }

    /// Records read and written by this wharf have exactly the JSON written before they were
    /// gathered here (taken from tests/e2e/fixtures/datadir-v1); the VPC and default network
    /// records of then read through their upgrades.
    #[test]
    fn format_1_json_round_trips_unchanged() {
        let network = upgrade_default_network(
            1,
            serde_json::from_str(r#"{"vpc_id":"vpc-a756e7ca9bf03d05d","subnet_ids":["subnet-12a9487b80e2ba8fa","subnet-bd924a9867bb93a2e","subnet-c842f9dc02e3d8e5a"],"security_group_id":"sg-81fbf1add4883c51c"}"#).unwrap(),
        )
        .unwrap();
        let network: DefaultNetwork = serde_json::from_value(network).unwrap();
        assert!(!network.routing_created);
        round_trip::<GroupRecord>(
            r#"{"id":"sg-1290e1d53f17bffc6","name":"fixture-tasks","description":"fixture tasks","vpc_id":"vpc-a756e7ca9bf03d05d","owner_id":"123456789012","tags":[{"key":"tier","value":"app"}],"rules":[{"id":"sgr-1f4b66a3e8b744e51","egress":true,"protocol":"-1","from_port":null,"to_port":null,"peer":{"Ipv4":"0.0.0.0/0"},"description":null,"tags":[]},{"id":"sgr-7feb6bb6515d3d0b7","egress":false,"protocol":"tcp","from_port":8000,"to_port":8000,"peer":{"Group":{"group_id":"sg-81fbf1add4883c51c","user_id":"123456789012"}},"description":"app","tags":[{"key":"k","value":"v"}]}]}"#,
        );
        round_trip::<SubnetRecord>(
            r#"{"id":"subnet-12a9487b80e2ba8fa","vpc_id":"vpc-a756e7ca9bf03d05d","cidr_block":"172.31.0.0/20","availability_zone":"us-east-1a","availability_zone_id":"use1-az1","default_for_az":true,"map_public_ip_on_launch":true,"available_ip_address_count":4091,"owner_id":"123456789012","arn":"arn:aws:ec2:us-east-1:123456789012:subnet/subnet-12a9487b80e2ba8fa","tags":[]}"#,
        );
        let vpc = upgrade_vpc(
            1,
            serde_json::from_str(r#"{"id":"vpc-a756e7ca9bf03d05d","cidr_block":"172.31.0.0/16","cidr_association_id":"vpc-cidr-assoc-17782b4e3ff92fef9","dhcp_options_id":"dopt-b5059aeac923d61be","is_default":true,"owner_id":"123456789012","tags":[]}"#).unwrap(),
        )
        .unwrap();
        let vpc: VpcRecord = serde_json::from_value(vpc).unwrap();
        assert!(vpc.enable_dns_support && vpc.enable_dns_hostnames);
        assert_eq!(vpc.instance_tenancy, "default");
        round_trip::<InterfaceRecord>(
            r#"{"id":"eni-0123456789abcdef0","subnet_id":"subnet-1","vpc_id":"vpc-1","availability_zone":"us-east-1a","availability_zone_id":"use1-az1","description":"arn:aws:ecs:us-east-1:123456789012:attachment/x","mac_address":"0e:12:34:56:78:9a","private_ip":"172.31.0.4","public_ip":null,"groups":[{"id":"sg-1","name":"default"}],"owner_id":"123456789012","attachment_id":"ela-attach-0123","attach_time":1700000000.5,"tags":[]}"#,
        );
    }

    #[test]
    fn rules_written_before_rule_tags_read_with_no_tags() {
        let old = r#"{"id":"sgr-1","egress":true,"protocol":"-1","from_port":null,"to_port":null,"peer":{"PrefixList":"pl-1"},"description":null}"#;
        let rule: Rule = serde_json::from_str(old).expect("decodes");
        assert!(rule.tags.is_empty());
    }
}
