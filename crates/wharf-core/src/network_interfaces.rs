//! The VPC as the task runtime needs it: look up the subnets and security groups a task asks
//! for, and record the elastic network interface each awsvpc task gets so that EC2's
//! DescribeNetworkInterfaces shows it. Implemented by EC2, so ECS and the runtime do not
//! reach into EC2's tables.

use crate::packet_filter::InterfaceFilter;
use crate::subnet_network::SubnetNetwork;
use std::collections::BTreeMap;

/// A subnet a task can be placed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementSubnet {
    /// `subnet-...`
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its availability zone, e.g. `us-east-1a`.
    pub availability_zone: String,
    /// Its IPv4 range, e.g. `172.31.0.0/20`.
    pub cidr_block: String,
}

/// A VPC as load balancers and target groups need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcInfo {
    /// `vpc-...`
    pub id: String,
    /// Its primary IPv4 range, e.g. `172.31.0.0/16`.
    pub cidr_block: String,
    /// The id of its `default` security group (what a load balancer gets when it names none).
    pub default_security_group: Option<String>,
}

/// An interface to record for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNetworkInterface {
    /// Owner account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The subnet it is in.
    pub subnet_id: String,
    /// Its private IPv4 address (empty when
    /// [`NetworkInterfaces::sync_described_interfaces`] is to choose it).
    pub private_ip: String,
    /// Its MAC address.
    pub mac_address: String,
    /// The public address associated with it (`assignPublicIp=ENABLED`).
    pub public_ip: Option<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// E.g. `arn:aws:ecs:us-east-1:123456789012:attachment/<uuid>`.
    pub description: String,
}

/// An interface as recorded (what [`NetworkInterfaces::sync_described_interfaces`] answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInterface {
    /// `eni-...`
    pub id: String,
    /// The subnet it is in.
    pub subnet_id: String,
    /// Its private IPv4 address.
    pub private_ip: String,
}

/// Subnet and security-group lookup and ENI bookkeeping.
pub trait NetworkInterfaces: Send + Sync + 'static {
    /// The subnet `id` of `account` in `region`, if it exists.
    fn subnet(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<PlacementSubnet>, String>;

    /// Whether security group `id` exists in `account` / `region`.
    fn security_group_exists(&self, account: &str, region: &str, id: &str) -> Result<bool, String>;

    /// Whether security group `id` exists in VPC `vpc_id` (a load balancer's and a task's
    /// groups must be in its subnets' VPC). Implementations that keep no VPCs answer whether
    /// the group exists at all.
    fn security_group_in_vpc(
        &self,
        account: &str,
        region: &str,
        id: &str,
        vpc_id: &str,
    ) -> Result<bool, String> {
        let _ = vpc_id;
        self.security_group_exists(account, region, id)
    }

    /// Records an in-use interface and returns its id (`eni-...`).
    fn create_interface(&self, eni: NewNetworkInterface) -> Result<String, String>;

    /// Forgets interface `id` (the task is gone). Deleting a missing interface is not an error.
    fn delete_interface(&self, account: &str, region: &str, id: &str) -> Result<(), String>;

    /// Records an in-use interface whose address EC2 chooses (the lowest free one of the
    /// subnet, `eni.private_ip` ignored): for tasks in VPCs that are their own network
    /// namespace, where no Docker network hands out addresses. Returns its id and address.
    fn allocate_interface(&self, eni: NewNetworkInterface) -> Result<(String, String), String> {
        let _ = eni;
        Err("this network implementation cannot allocate addresses".into())
    }

    /// Sets the MAC address and public address of interface `id` made by
    /// [`NetworkInterfaces::allocate_interface`] (known once the task's sandbox has them).
    fn set_interface_link(
        &self,
        account: &str,
        region: &str,
        id: &str,
        mac_address: &str,
        public_ip: Option<&str>,
    ) -> Result<(), String> {
        let _ = (account, region, id, mac_address, public_ip);
        Err("this network implementation keeps no interface links".into())
    }

    /// Subnet `id` of `account` in `region` with its VPC and its ways out (route table, NAT
    /// gateway, endpoints), if it exists.
    fn subnet_network(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<SubnetNetwork>, String> {
        let _ = (account, region, id);
        Err("this network implementation keeps no route tables".into())
    }

    /// Makes the interfaces described `description` (a load balancer's: `ELB app/<name>/<id>`)
    /// exactly `wanted`, one per subnet: an interface in a wanted subnet is kept with its
    /// address (its groups set to the wanted ones), the others removed, the missing ones made
    /// (with the given address, or the highest free one of the subnet when it is empty, so
    /// they stay clear of tasks, which take the lowest). An empty `wanted` removes them all.
    /// Answers the interfaces as recorded, in `wanted`'s order. Implementations that keep no
    /// interfaces record nothing and answer none.
    fn sync_described_interfaces(
        &self,
        account: &str,
        region: &str,
        description: &str,
        wanted: Vec<NewNetworkInterface>,
    ) -> Result<Vec<RecordedInterface>, String> {
        let _ = (account, region, description, wanted);
        Ok(Vec::new())
    }

    /// The packet filters of interfaces `ids` of `account` in `region`: their security groups'
    /// rules, each source group resolved to the private addresses of the interfaces that carry
    /// it. Interfaces it does not know are left out; implementations that keep no security
    /// groups answer an empty map (nothing is filtered).
    fn interface_filters(
        &self,
        account: &str,
        region: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, InterfaceFilter>, String> {
        let _ = (account, region, ids);
        Ok(BTreeMap::new())
    }

    /// The VPC `id` of `account` in `region`, if it exists (target groups name their VPC; a
    /// load balancer without security groups gets the VPC's default group). Implementations
    /// that keep no VPCs answer with an error.
    fn vpc(&self, account: &str, region: &str, id: &str) -> Result<Option<VpcInfo>, String> {
        let _ = (account, region, id);
        Err("this network implementation keeps no VPCs".into())
    }
}

/// EC2's private DNS name of `ip` in `region`: `ip-172-31-1-4.ec2.internal` in us-east-1,
/// `ip-172-31-1-4.<region>.compute.internal` elsewhere.
pub fn private_dns_name(ip: &str, region: &str) -> String {
    let host = format!("ip-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_ec2() {
        assert_eq!(
            private_dns_name("172.31.1.4", "us-east-1"),
            "ip-172-31-1-4.ec2.internal"
        );
        assert_eq!(
            private_dns_name("172.31.1.4", "eu-west-1"),
            "ip-172-31-1-4.eu-west-1.compute.internal"
        );
    }
}
