//! `horus ns list` (or `horus namespace list`): the namespaces under the
//! shm base directory (`HORUS_SHM_DIR`, else `/dev/shm`), each with its
//! topics (the system ones left out) and live processes (liveness files
//! whose lock is held, this command left out). Only reads; a dead process's
//! liveness file is removed on the way, as every liveness check does.

use std::process::ExitCode;

use anyhow::Context;
use horus::error::TopicError;
use horus::shm::Namespace;

use crate::Ctx;
use crate::json::{NamespaceList, NamespaceRow};
use crate::table::{self, Align::Left, Align::Right, Col};

/// `horus ns ...`
#[derive(Debug, clap::Subcommand)]
pub enum NsCommand {
    /// Every namespace, with its topics and live processes.
    List,
}

pub fn main(ctx: &Ctx, cmd: &NsCommand) -> anyhow::Result<ExitCode> {
    let NsCommand::List = cmd;
    let base_dir = Namespace::base_dir();
    // A base directory that does not exist (or is not one) is an error, as
    // for every other command: HORUS_SHM_DIR is wrong, or its tmpfs is not
    // mounted, and "no namespaces" would hide it. Its sentence names it.
    let names = match Namespace::list_all() {
        Ok(names) => names,
        Err(e @ TopicError::ShmDir { .. }) => return Err(e.into()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("listing the namespaces in {}", base_dir.display()));
        }
    };
    let rows: Vec<NamespaceRow> = names
        .into_iter()
        .filter_map(|name| match crate::names::count(&name) {
            Ok(Some(c)) => Some(NamespaceRow {
                name,
                topics: Some(c.topics),
                processes: Some(c.processes),
                error: None,
            }),
            Ok(None) => None, // removed meanwhile
            Err(e) => Some(NamespaceRow {
                name,
                topics: None,
                processes: None,
                error: Some(format!("{e:#}")),
            }),
        })
        .collect();
    if ctx.json {
        crate::json::print_pretty(&NamespaceList {
            base_dir,
            current: ctx.namespace.clone(),
            namespaces: rows,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("no namespaces in {}", base_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table::new(&[
        Col("NAMESPACE", 24, Left),
        Col("TOPICS", 6, Right),
        Col("PROCESSES", 9, Right),
    ]);
    let count = |v: Option<usize>| v.map_or_else(|| "?".to_owned(), |n| n.to_string());
    for r in &rows {
        let name = if r.name == ctx.namespace {
            format!("{} (current)", r.name)
        } else {
            r.name.clone()
        };
        t.add_row(vec![name, count(r.topics), count(r.processes)]);
    }
    table::print(&t, |_| anstyle::Style::new());
    for r in &rows {
        if let Some(e) = &r.error {
            outln!("{}: unreadable: {e}", r.name);
        }
    }
    if !rows.iter().any(|r| r.name == ctx.namespace) {
        outln!(
            "(the current namespace, {}, does not exist yet: nothing has run in it)",
            ctx.namespace
        );
    }
    Ok(ExitCode::SUCCESS)
}
