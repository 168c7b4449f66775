//! The `horus` command: build and run node programs, launch a system from a
//! YAML file, look at topics and nodes, pause/resume/restart/stop a node,
//! clean shared memory.
//!
//! Every command honours `HORUS_NAMESPACE` (or `--namespace NS`), prints
//! machine-readable output with `--json`, and exits with a code a shell can
//! test (see [`exit`]). Every command but `clean` first removes what dead
//! processes left in the namespace (never what a live one holds); looking at
//! a topic never deletes or changes it. See README.md for the decisions.

/// `eprintln!` that never panics (a closed stderr is ignored): see [`supervise::note`].
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::supervise::note(&format!($($arg)*))
    };
}

#[macro_use]
mod out;

mod clean;
mod colour;
mod docs;
mod exit;
mod guard;
mod json;
mod launch;
mod monitor;
mod names;
mod namespaces;
mod node_control;
mod node_info;
mod orphans;
mod run;
mod supervise;
mod system;
mod table;
mod topic;
mod yaml_error;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use exit::Failure;

/// HORUS: robotics middleware over shared memory.
#[derive(Debug, Parser)]
#[command(bin_name = "horus")]
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
    /// Build and run node programs (.rs, .py), each as its own process, in one namespace.
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
    /// The namespaces that exist, with their topics and live processes.
    #[command(subcommand, visible_alias = "namespace")]
    Ns(namespaces::NsCommand),
    /// The blackbox: anomalies recorded by every process of the namespace.
    #[command(visible_alias = "blackbox")]
    Bb(system::BbArgs),
    /// The emergency stop of the namespace: its state (bare), `--raise`/`--reason`, `--clear`.
    Estop(system::EstopArgs),
    /// A live view of every node, topic, the e-stop and the blackbox (web UI; `--terminal`).
    Monitor(monitor::MonitorArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), or write one per command into a folder with `--out`.
    Man(docs::ManArgs),
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
    // `RUST_LOG=debug horus ...` shows what horus-std does for this command
    // (topic joins, auto-clean decisions); the default shows nothing.
    horus::logging::init();
    // `horus __guard GRACE` (internal, see `guard`): read before clap, so
    // that it is in no help text, completion script or man page.
    let mut argv = std::env::args_os();
    if argv.nth(1).is_some_and(|a| a == guard::COMMAND) {
        let grace = argv
            .next()
            .and_then(|g| g.into_string().ok())
            .unwrap_or_default();
        return guard::main(&grace);
    }
    let cli = Cli::parse();
    match &cli.command {
        // Documentation only: no namespace, nothing in shared memory.
        Command::Completions(args) => return docs::completions(args),
        Command::Man(args) => return docs::man(args),
        _ => {}
    }
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
    // Said once, as where it came from and how to fix it, before any
    // command tries (and fails) to open it.
    if let Err(reason) = horus::shm::names::check_namespace(&namespace) {
        let source = if namespace_from_flag {
            "--namespace"
        } else {
            horus::shm::namespace::NAMESPACE_ENV
        };
        eprintln!(
            "horus: invalid namespace {namespace:?} ({source}): {reason}; use 1 to 64 characters \
             from A-Z a-z 0-9 _ -"
        );
        return ExitCode::from(exit::USAGE);
    }
    if prints_only(&cli.command) {
        // SAFETY: `signal` with SIG_DFL installs no handler code; it runs
        // here, before this process starts any thread, so nothing races on
        // the signal disposition. Rust's runtime had set SIGPIPE to ignored.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let ctx = Ctx {
        namespace,
        namespace_from_flag,
        json: cli.json,
    };
    let result = match cli.command {
        Command::Clean(args) => clean::main(&ctx, &args),
        // Not about one namespace: a broken one must not stop them.
        command @ (Command::Ns(_) | Command::Completions(_) | Command::Man(_)) => {
            dispatch(&ctx, command)
        }
        command => auto_clean(&ctx.namespace).and_then(|()| dispatch(&ctx, command)),
    };
    // Every handle this command opened is closed: give up its liveness file.
    release_liveness(&ctx.namespace);
    // A write to stdout failed: `run`/`launch` stopped their children
    // because nobody reads their output any more (141, the status of a
    // program killed by SIGPIPE), or it is said (exit 1).
    if let Some(code) = out::status() {
        return code;
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            let failure = e.downcast_ref::<Failure>();
            let code = failure.map_or(exit::ERROR, |f| f.code);
            note!("horus: {e:#}");
            ExitCode::from(code)
        }
    }
}

/// Commands whose output is all they do: a closed stdout (`horus topic list
/// | head -1`) ends them by SIGPIPE, quietly, as it ends `cat` (status 141 in
/// the shell). `run` and `launch` supervise children instead: they keep
/// SIGPIPE ignored and stop their children on a closed stdout (see
/// [`supervise`]); `monitor`'s web UI serves HTTP, where a closed socket is
/// an error to handle, not a reason to die (`--once`/`--terminal` only print).
fn prints_only(command: &Command) -> bool {
    match command {
        Command::Run(_) => false,
        Command::Completions(_) | Command::Man(_) => true,
        Command::Launch(args) => args.is_dry_run(),
        Command::Monitor(args) => args.in_terminal(),
        Command::Topic(_)
        | Command::Clean(_)
        | Command::Node(_)
        | Command::Ns(_)
        | Command::Bb(_)
        | Command::Estop(_) => true,
    }
}

fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::main(ctx, args),
        Command::Launch(args) => launch::main(ctx, &args),
        Command::Topic(cmd) => topic::main(ctx, cmd),
        Command::Clean(args) => clean::main(ctx, &args),
        Command::Node(cmd) => system::node(ctx, &cmd),
        Command::Ns(cmd) => namespaces::main(ctx, &cmd),
        Command::Bb(args) => system::bb(ctx, &args),
        Command::Estop(args) => system::estop_cmd(ctx, &args),
        Command::Monitor(args) => monitor::main(ctx, &args),
        Command::Completions(args) => Ok(docs::completions(&args)),
        Command::Man(args) => Ok(docs::man(&args)),
    }
}

/// Gives up this process's liveness file (`proc/<pid>-<nonce>.lock`) in
/// namespace `ns`, if it made one: a command that has closed every handle
/// there leaves nothing behind (a reader that looked at a topic included).
pub fn release_liveness(ns: &str) {
    if let Ok(Some(ns)) = horus::shm::Namespace::open_existing(ns) {
        horus::shm::liveness::unregister(&ns);
    }
}

/// Removes what dead processes left in namespace `ns` (auto-clean), after
/// writing to the blackbox the death of each process that died with its
/// nodes running ([`record_deaths`]).
fn auto_clean(ns: &str) -> anyhow::Result<()> {
    // A namespace that cannot be opened (a file or a link at its path) is
    // the command's one error, said once, not once per step.
    // The directory of all namespaces (HORUS_SHM_DIR) is not this one's:
    // its sentence names it.
    match horus::shm::Namespace::open_existing(ns) {
        Err(e @ horus::error::TopicError::ShmDir { .. }) => {
            return Err(Failure::new(exit::ERROR, e.to_string()).into());
        }
        Err(e) => return Err(Failure::new(exit::ERROR, format!("namespace {ns}: {e}")).into()),
        Ok(_) => {}
    }
    record_deaths(ns);
    horus::shm::auto_clean(ns)
        .map(drop)
        .map_err(|e| Failure::new(exit::ERROR, format!("auto-clean: {e}")).into())
}

/// Writes to the blackbox of `ns` the death of every process that died
/// while its nodes ran (learned through liveness; once per process): see
/// `horus::system::registry::record_deaths`. A failure is said, not fatal.
pub fn record_deaths(ns: &str) {
    if let Err(e) = horus::system::registry::record_deaths(Some(ns)) {
        note!("horus: warning: could not record dead processes in the blackbox of {ns}: {e}");
    }
}
