//! The `horus` command: build and run node programs, launch a system from a
//! YAML file, look at topics, clean shared memory.
//!
//! Every command honours `HORUS_NAMESPACE` (or `--namespace NS`), prints
//! machine-readable output with `--json`, and exits with a code a shell can
//! test (see [`exit`]). Every command but `clean` first removes what dead
//! processes left in the namespace (never what a live one holds); looking at
//! a topic never deletes or changes it. See README.md for the decisions.

mod clean;
mod exit;
mod launch;
mod monitor;
mod run;
mod supervise;
mod system;
mod table;
mod topic;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use exit::Failure;

/// HORUS: robotics middleware over shared memory.
#[derive(Debug, Parser)]
#[command(name = "horus", version, about, propagate_version = true)]
struct Cli {
    /// Namespace of the topics and processes (default: $HORUS_NAMESPACE, else `default`).
    #[arg(long, global = true, value_name = "NS")]
    namespace: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build and run node programs (.rs), each as its own process, in one namespace.
    Run(run::RunArgs),
    /// Start the nodes of a launch file (YAML) and supervise them.
    Launch(launch::LaunchArgs),
    /// Inspect, measure and publish to topics.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Remove what dead processes left in shared memory.
    Clean(clean::CleanArgs),
    /// Nodes of every process of the namespace.
    #[command(subcommand)]
    Node(system::NodeCommand),
    /// The blackbox: anomalies recorded by every process of the namespace.
    Bb(system::BbArgs),
    /// Raise (or `--clear`) the emergency stop of the namespace.
    Estop(system::EstopArgs),
    /// A live view of every node, topic, the e-stop and the blackbox (terminal).
    Monitor(monitor::MonitorArgs),
}

/// What every command is given.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The namespace in effect (flag, else `HORUS_NAMESPACE`, else `default`).
    pub namespace: String,
    /// `--namespace` was given explicitly.
    pub namespace_from_flag: bool,
    /// `--json`.
    pub json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let namespace_from_flag = cli.namespace.is_some();
    // The flag, else HORUS_NAMESPACE, else `default`. Every command passes it
    // to horus-std and to the processes it starts by name, never through this
    // process's environment.
    let namespace = match &cli.namespace {
        Some(ns) => ns.clone(),
        None => match horus::shm::Namespace::current_name() {
            Ok(ns) => ns,
            Err(e) => {
                eprintln!("horus: {e}");
                return ExitCode::from(exit::USAGE);
            }
        },
    };
    let ctx = Ctx {
        namespace,
        namespace_from_flag,
        json: cli.json,
    };
    let result = match cli.command {
        Command::Clean(args) => clean::main(&ctx, &args),
        command => auto_clean(&ctx.namespace).and_then(|()| dispatch(&ctx, command)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let failure = e.downcast_ref::<Failure>();
            let code = failure.map_or(exit::ERROR, |f| f.code);
            eprintln!("horus: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::main(ctx, args),
        Command::Launch(args) => launch::main(ctx, &args),
        Command::Topic(cmd) => topic::main(ctx, cmd),
        Command::Clean(args) => clean::main(ctx, &args),
        Command::Node(cmd) => system::node(ctx, &cmd),
        Command::Bb(args) => system::bb(ctx, &args),
        Command::Estop(args) => system::estop_cmd(ctx, &args),
        Command::Monitor(args) => monitor::main(ctx, &args),
    }
}

/// Removes what dead processes left in namespace `ns` (auto-clean).
fn auto_clean(ns: &str) -> anyhow::Result<()> {
    horus::system::auto_clean(ns)
        .map(drop)
        .map_err(|e| Failure::new(exit::ERROR, format!("auto-clean: {e}")).into())
}
