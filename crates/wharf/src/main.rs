//! `wharf`: the AWS container platform, self-hosted. This binary parses flags and wires the
//! pieces together; everything else lives in the library crates.

mod config;
mod credentials;
mod server;
mod service_controller;
mod task_agent;
mod task_endpoint;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wharf",
    version,
    about = "The AWS container platform (ECR, ECS, Fargate, ALB, CloudWatch Logs, ...), self-hosted",
    long_about = "wharf speaks the AWS wire protocols on one port, so the real `aws` CLI and boto3 work \
                  against it with --endpoint-url. Start it with `wharf server`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the wharf server: every AWS API on one port, state in the data directory.
    Server(config::ServerArgs),
    /// Print wharf's version and the botocore specs its API models come from.
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => server::run(args),
        Command::Version => {
            println!("wharf {}", env!("CARGO_PKG_VERSION"));
            println!(
                "API models generated from botocore {}",
                wharf_ecs::generated::BOTOCORE_VERSION
            );
            Ok(())
        }
    }
}
