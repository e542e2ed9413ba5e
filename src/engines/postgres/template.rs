//! The data every new cluster starts from.
//!
//! `initdb` runs once per instance (the first cluster waits for it), into the template.
//! The template is then started once and given what every cluster needs, so that a new
//! cluster has it without a statement of its own: Redshift's answers (see
//! [`super::super::pgredshift`]) in `template1` and `postgres`, every role's search path,
//! and the database `dev` (Redshift's default `DBName`), where every user may create
//! tables in `public`. It is shut down cleanly, and a cluster's data is a copy of it.
//!
//! A file in the template says what it was made with; a template that another memshift
//! made, or that answers another version, is made again. Copies carry that file until
//! their cluster has made the data its own (see [`mark_of`]), so that a cluster whose
//! start stopped half-way is still known to hold the template's data.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::Digest as _;
use tokio::process::Command;

use super::super::pgadmin::{admin_session, execute};
use super::super::pgredshift;
use super::super::pgwire::ident;
use super::server::{Servers, stop_server};

/// The directory under the root that holds the data every new cluster starts from.
const TEMPLATE_DIR: &str = ".template";
/// The file in the template's data that says what it holds.
const MARK_FILE: &str = "memshift-template";
/// The database the template holds besides PostgreSQL's own: Redshift's default
/// `DBName`. A cluster with another `DBName` has it renamed.
pub(super) const TEMPLATE_DATABASE: &str = "dev";

/// What a template made for clusters answering `version` holds, in short.
pub(super) fn mark(version: &str) -> String {
    let recipe = format!(
        "database {TEMPLATE_DATABASE}, public open to all\n{}",
        pgredshift::recipe(version)
    );
    hex::encode(sha2::Sha256::digest(recipe.as_bytes()))
}

/// The mark of data copied from the template that no cluster has made its own yet.
pub(super) fn mark_of(data: &Path) -> Option<String> {
    std::fs::read_to_string(data.join(MARK_FILE)).ok()
}

/// Data copied from the template is its cluster's now: it loses the template's mark.
pub(super) fn adopted(data: &Path) -> Result<(), String> {
    std::fs::remove_file(data.join(MARK_FILE))
        .map_err(|e| format!("cannot write in {}: {e}", data.display()))
}

impl Servers {
    /// The template's data for clusters answering `version`, made first when there is
    /// none or it holds something else; and its mark.
    pub(super) async fn template(
        &self,
        bin_dir: &Path,
        version: &str,
    ) -> Result<(PathBuf, String), String> {
        let template = self.root.join(TEMPLATE_DIR);
        let mark = mark(version);
        // One template made at a time; those who waited find it made.
        let _made = self.template.lock().await;
        if mark_of(&template).as_ref() != Some(&mark) {
            let _ = std::fs::remove_dir_all(&template);
            let partial = self.root.join(format!("{TEMPLATE_DIR}.partial"));
            let _ = std::fs::remove_dir_all(&partial);
            self.make_dir(&partial)?;
            let made = self.make_template(bin_dir, &partial, version).await;
            let kept = made.and_then(|()| {
                std::fs::write(partial.join("data").join(MARK_FILE), &mark)
                    .and_then(|()| std::fs::rename(partial.join("data"), &template))
                    .map_err(|e| format!("cannot keep the template: {e}"))
            });
            let _ = std::fs::remove_dir_all(&partial);
            kept?;
        }
        Ok((template, mark))
    }

    /// `initdb` into `dir/data`, then what every cluster needs, in a server started for
    /// it and shut down cleanly.
    async fn make_template(&self, bin_dir: &Path, dir: &Path, version: &str) -> Result<(), String> {
        self.initdb(bin_dir, &dir.join("data")).await?;
        let (mut server, admin) = self.launch(bin_dir, dir).await?;
        let socket = server.socket();
        let prepared = async {
            // `dev` first: a database is created from `template1` only while no session
            // is connected there.
            execute(
                &admin,
                &format!("CREATE DATABASE {}", ident(TEMPLATE_DATABASE)),
            )
            .await?;
            // As on Redshift, every user may create tables in `public` (PostgreSQL 15 and
            // later no longer allow it by default).
            let db = admin_session(&socket, TEMPLATE_DATABASE).await?;
            execute(&db, "GRANT CREATE ON SCHEMA public TO PUBLIC").await?;
            pgredshift::install(&admin, &socket, version).await
        }
        .await;
        drop(admin);
        let stopped = stop_server(&mut server, false).await;
        prepared?;
        if stopped {
            Ok(())
        } else {
            Err("the template's server did not shut down cleanly".to_owned())
        }
    }

    /// A new database cluster in `data`: a copy of the template for clusters answering
    /// `version`. A copy takes tens of milliseconds where `initdb` takes most of a second.
    pub(super) async fn new_data(
        &self,
        bin_dir: &Path,
        data: &Path,
        version: &str,
    ) -> Result<(), String> {
        let (template, _) = self.template(bin_dir, version).await?;
        copy_dir(&template, data).await
    }
}

/// Copies a directory with its owners and modes (`cp -a`); dropped, the copy ends (and
/// the caller removes what it made).
pub(super) async fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot copy {}: {}",
            from.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
