//! How long a security group change takes to reach the kernel with many interfaces: the time
//! from `AuthorizeSecurityGroupIngress` to every affected interface filtering by the new rule.
//!
//! Builds, in a scratch data directory, the default VPC with `--groups` security groups holding
//! `--rules` ingress rules in all, and `--interfaces` task interfaces that each carry one of the
//! groups plus a shared one (so a rule on the shared group changes every interface's filter).
//! Then, `--rounds` times: one rule is authorized on the shared group, EC2 computes every
//! interface's filter (what the agent asks after a change), the agent's gathering makes the
//! table of the default VPC's network, and the runtime replaces that table in one `nft`
//! transaction, in a scratch network namespace standing in for the machine's (the machine's own
//! tables are not touched). Prints each step's time. Needs root and nftables; removes its
//! namespace.
//!
//! ```sh
//! cargo run --release -p wharf --example security_group_bench -- --interfaces 500 --rules 1000
//! ```

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use wharf_core::ids::RandomIds;
use wharf_core::{Clock, NetworkInterfaces, NewNetworkInterface, RequestContext, SystemClock};
use wharf_ec2::generated::{
    AuthorizeSecurityGroupIngressRequest, CreateSecurityGroupRequest, Ec2Api, IpPermission, IpRange,
};

/// The scratch namespace standing in for the machine's.
const NAMESPACE: &str = "wharf-sgbench";

struct Args {
    interfaces: usize,
    rules: usize,
    groups: usize,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args {
        interfaces: 500,
        rules: 1000,
        groups: 10,
        rounds: 3,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--interfaces", Some(v)) => a.interfaces = v,
            ("--rules", Some(v)) => a.rules = v,
            ("--groups", Some(v)) => a.groups = v,
            ("--rounds", Some(v)) => a.rounds = v,
            _ => {
                eprintln!("usage: security_group_bench [--interfaces N] [--rules N] [--groups N] [--rounds N]");
                std::process::exit(2);
            }
        }
    }
    a
}

/// The scratch namespace, removed on drop.
struct Scratch;

impl Scratch {
    fn new() -> Self {
        let _ = Command::new("ip")
            .args(["netns", "delete", NAMESPACE])
            .stderr(std::process::Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", NAMESPACE])
            .status()
            .map(|s| s.success());
        assert!(
            matches!(ok, Ok(true)),
            "cannot make namespace {NAMESPACE} (root needed)"
        );
        Scratch
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", NAMESPACE])
            .status();
    }
}

fn permission(port: i32, cidr: String) -> IpPermission {
    IpPermission {
        ip_protocol: Some("tcp".into()),
        from_port: Some(port),
        to_port: Some(port),
        ip_ranges: Some(vec![IpRange {
            cidr_ip: Some(cidr),
            ..Default::default()
        }]),
        ..IpPermission::default()
    }
}

/// Gathers the filters into the default VPC's table and replaces it: (gather, apply) times.
async fn apply(
    ec2: &wharf_ec2::Ec2,
    ids: &[String],
) -> (
    std::time::Duration,
    std::time::Duration,
    std::time::Duration,
) {
    let started = Instant::now();
    let filters = ec2
        .interface_filters("123456789012", "us-east-1", ids)
        .expect("filters");
    let computed = started.elapsed();
    let mut networks = wharf_agent::network_filters(&filters);
    let network = networks
        .remove(&None)
        .expect("the default VPC's interfaces");
    let script = wharf_runtime::packet_filter::script("wharf_sg_bench", &network);
    let gathered = started.elapsed() - computed;
    wharf_runtime::packet_filter::apply(Some(NAMESPACE), script)
        .await
        .expect("nft applies the table");
    (computed, gathered, started.elapsed() - computed - gathered)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = args();
    if let Err(why) = wharf_runtime::packet_filter::available().await {
        eprintln!("security_group_bench: cannot filter here: {why}");
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("wharf-sgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let store = Arc::new(wharf_store::Store::open(&dir.join("wharf.db")).expect("store"));
    let ec2 = wharf_ec2::Ec2::new(store, Arc::new(RandomIds));
    let ctx = RequestContext::for_tests("us-east-1", "123456789012", SystemClock.now());
    let subnets = ec2
        .default_subnets("123456789012", "us-east-1")
        .expect("default subnets");
    let vpc = subnets[0].vpc_id.clone();
    let group = |name: String| {
        ec2.create_security_group(
            &ctx,
            CreateSecurityGroupRequest {
                description: name.clone(),
                group_name: name,
                vpc_id: Some(vpc.clone()),
                ..Default::default()
            },
        )
        .expect("group")
        .group_id
        .expect("group id")
    };
    let shared = group("bench-shared".into());
    let groups: Vec<String> = (0..a.groups).map(|i| group(format!("bench-{i}"))).collect();
    // The rules, dealt over the groups (at most 60 per group, AWS's quota).
    let per_group = a.rules.div_ceil(a.groups).min(60);
    let mut made = 0;
    for g in &groups {
        let perms: Vec<IpPermission> = (0..per_group)
            .take(a.rules - made)
            .map(|k| {
                permission(
                    1000 + k as i32,
                    format!("10.{}.{}.0/24", made / 250, (made + k) % 250),
                )
            })
            .collect();
        made += perms.len();
        ec2.authorize_security_group_ingress(
            &ctx,
            AuthorizeSecurityGroupIngressRequest {
                group_id: Some(g.clone()),
                ip_permissions: Some(perms),
                ..Default::default()
            },
        )
        .expect("rules");
    }
    let mut ids = Vec::new();
    for i in 0..a.interfaces {
        let subnet = &subnets[i % subnets.len()];
        let id = ec2
            .create_interface(NewNetworkInterface {
                account: "123456789012".into(),
                region: "us-east-1".into(),
                subnet_id: subnet.id.clone(),
                private_ip: format!("172.31.{}.{}", 200 + i / 250, 1 + i % 250),
                mac_address: String::new(),
                public_ip: None,
                security_groups: vec![groups[i % groups.len()].clone(), shared.clone()],
                description: "bench".into(),
            })
            .expect("interface");
        ids.push(id);
    }
    println!(
        "{} interfaces, {} groups + 1 shared, {made} ingress rules",
        a.interfaces, a.groups
    );
    let scratch = Scratch::new();
    let (_, _, first) = apply(&ec2, &ids).await;
    println!(
        "first table applied in {:.0} ms",
        first.as_secs_f64() * 1000.0
    );
    for round in 0..a.rounds {
        let started = Instant::now();
        ec2.authorize_security_group_ingress(
            &ctx,
            AuthorizeSecurityGroupIngressRequest {
                group_id: Some(shared.clone()),
                ip_permissions: Some(vec![permission(
                    9000 + round as i32,
                    "192.168.0.0/16".into(),
                )]),
                ..Default::default()
            },
        )
        .expect("the change");
        let authorized = started.elapsed();
        let (computed, gathered, applied) = apply(&ec2, &ids).await;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        println!(
            "round {}: authorize {:.1} ms, compute {} filters {:.1} ms, make the table {:.1} ms, apply it {:.0} ms; effect everywhere after {:.0} ms",
            round + 1,
            ms(authorized),
            ids.len(),
            ms(computed),
            ms(gathered),
            ms(applied),
            ms(started.elapsed()),
        );
    }
    drop(scratch);
    let _ = std::fs::remove_dir_all(&dir);
}
