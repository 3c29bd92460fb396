//! How long a security group change takes to reach the kernel with many interfaces: the time
//! from `AuthorizeSecurityGroupIngress` to every affected interface filtering by the new rule.
//!
//! Builds, in a scratch data directory, the default VPC with `--groups` security groups holding
//! `--rules` ingress rules in all, and `--interfaces` task interfaces that each carry one of the
//! groups plus a shared one (so a rule on the shared group changes every interface's filter).
//! Each interface gets a network namespace of its own with a process in it (what a task's
//! sandbox is), and its filter applied there as wharf applies it. Then, `--rounds` times: one
//! rule is authorized on the shared group, EC2 computes every interface's filter (what the
//! agent asks after a change) and the changed filters are applied, 16 at once as the agent
//! does (odd rounds) or one after another (even rounds, for comparison). Prints each step's time. Needs root and nftables; removes its namespaces.
//!
//! ```sh
//! cargo run --release -p wharf --example security_group_bench -- --interfaces 500 --rules 1000
//! ```

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;
use wharf_core::ids::RandomIds;
use wharf_core::packet_filter::InterfaceFilter;
use wharf_core::{Clock, NetworkInterfaces, NewNetworkInterface, RequestContext, SystemClock};
use wharf_ec2::generated::{
    AuthorizeSecurityGroupIngressRequest, CreateSecurityGroupRequest, Ec2Api, IpPermission, IpRange,
};

/// How many filters the agent applies at once.
const CONCURRENCY: usize = 16;

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

/// One interface's stand-in sandbox: a namespace with a process in it.
struct Sandbox {
    name: String,
    process: Child,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn sandbox(i: usize) -> Sandbox {
    let name = format!("wharf-sgbench-{i}");
    let ok = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .map(|s| s.success());
    assert!(
        matches!(ok, Ok(true)),
        "cannot make namespace {name} (root needed)"
    );
    let process = Command::new("ip")
        .args(["netns", "exec", &name, "sleep", "3600"])
        .stdout(Stdio::null())
        .spawn()
        .expect("sleep in the namespace");
    Sandbox { name, process }
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

/// Applies every interface's filter to its namespace, `concurrency` at a time (the agent
/// applies 16 at once).
async fn apply_all(
    sandboxes: &[Sandbox],
    ids: &[String],
    filters: &BTreeMap<String, InterfaceFilter>,
    concurrency: usize,
) -> std::time::Duration {
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut running = tokio::task::JoinSet::new();
    for (sandbox, id) in sandboxes.iter().zip(ids) {
        let (pid, filter) = (i64::from(sandbox.process.id()), filters[id].clone());
        let permits = permits.clone();
        running.spawn(async move {
            let _permit = permits.acquire_owned().await;
            wharf_runtime::packet_filter::apply(pid, &filter).await
        });
    }
    let results: Vec<_> = running.join_all().await;
    assert!(
        results.iter().all(Result::is_ok),
        "nft applies every filter"
    );
    started.elapsed()
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
        "{} interfaces, {} groups + 1 shared, {made} ingress rules; making {} namespaces...",
        a.interfaces, a.groups, a.interfaces
    );
    let sandboxes: Vec<Sandbox> = (0..a.interfaces).map(sandbox).collect();
    let filters = ec2
        .interface_filters("123456789012", "us-east-1", &ids)
        .expect("filters");
    let first = apply_all(&sandboxes, &ids, &filters, CONCURRENCY).await;
    println!(
        "first filters applied in {:.0} ms",
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
        let filters = ec2
            .interface_filters("123456789012", "us-east-1", &ids)
            .expect("filters");
        let computed = started.elapsed() - authorized;
        let concurrency = if round % 2 == 0 { CONCURRENCY } else { 1 };
        let applied = apply_all(&sandboxes, &ids, &filters, concurrency).await;
        println!(
            "round {} ({concurrency} at once): authorize {:.1} ms, compute {} filters {:.1} ms, apply {:.0} ms ({:.2} ms each); effect everywhere after {:.0} ms",
            round + 1,
            authorized.as_secs_f64() * 1000.0,
            ids.len(),
            computed.as_secs_f64() * 1000.0,
            applied.as_secs_f64() * 1000.0,
            applied.as_secs_f64() * 1000.0 / ids.len() as f64,
            started.elapsed().as_secs_f64() * 1000.0,
        );
    }
    drop(sandboxes);
    let _ = std::fs::remove_dir_all(&dir);
}
