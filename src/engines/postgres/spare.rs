//! A server started ahead, so that a new cluster's server is there at once.
//!
//! Starting PostgreSQL takes 40-90 ms (more on a busy machine), and copying the
//! template's data tens more. Once a cluster has been made from the template, memshift
//! keeps one server started ahead on a copy of it: the spare, in `.spare` under the root,
//! started as every server is (same settings, `fsync` included). It holds no session
//! while it waits (a session is a process of its own, some 13 MB). A new cluster takes
//! it: the spare's directory becomes the cluster's (the server works there by relative
//! names, and the link to its data is moved along), and the cluster's master user and
//! database are made in it. Another spare is then prepared in the background; a cluster
//! that comes while it is, waits for it, which is never longer than starting a server
//! of its own.
//!
//! A cluster with data of its own (a restart on `--data-dir`) never takes the spare. The
//! spare, or its preparation, is stopped at shutdown and reset, and its directory goes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use super::server::{Server, Servers, stop_server};
use super::template::{self, copy_dir};
use super::{Postgres, SCOPE_FILE};

/// The directory under the root that holds the spare.
const SPARE_DIR: &str = ".spare";

/// How long a spare's preparation waits before it starts, unless a cluster waits for it:
/// the moments after a cluster's creation are those its clients connect in, and the
/// preparation would take the CPU from them.
const SETTLE: Duration = Duration::from_millis(100);

/// A server started ahead on a copy of the template marked `mark`.
pub(super) struct Spare {
    server: Server,
    mark: String,
}

/// The spare's preparation, which holds the spare once it is done.
#[derive(Default)]
pub(super) enum Slot {
    #[default]
    Empty,
    Making {
        task: JoinHandle<Option<Spare>>,
        /// Ends the preparation (and what it started).
        cancel: oneshot::Sender<()>,
        /// Tells the preparation not to wait: a cluster waits for it.
        hurry: Arc<Notify>,
    },
}

impl Postgres {
    /// The spare server for a new cluster answering `version`, once prepared; `None` when
    /// there is none (or it cannot serve).
    pub(super) async fn take_spare(&self, version: &str) -> Option<Server> {
        let slot = std::mem::take(&mut *self.spare.lock().unwrap_or_else(PoisonError::into_inner));
        let spare = match slot {
            Slot::Empty => None,
            Slot::Making {
                task,
                cancel,
                hurry,
            } => {
                hurry.notify_one();
                let made = task.await.ok().flatten();
                drop(cancel);
                made
            }
        }?;
        let Spare { mut server, mark } = spare;
        if server.running() && mark == template::mark(version) {
            Some(server)
        } else {
            stop_server(&mut server, true).await;
            None
        }
    }

    /// Makes a taken spare the server of the cluster in `dir`, a directory that holds no
    /// data (what a start that failed left there goes).
    pub(super) fn adopt_spare(
        server: &mut Server,
        dir: &Path,
        scope_text: &str,
    ) -> Result<(), String> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
        }
        server.move_to(dir)?;
        std::fs::write(dir.join(SCOPE_FILE), scope_text)
            .map_err(|e| format!("cannot write {}: {e}", dir.display()))
    }

    /// Prepares a spare for clusters answering `version` in the background, unless one
    /// is there or under way.
    pub(super) fn refill(&self, bin_dir: &Path, version: &str) {
        let mut slot = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(*slot, Slot::Empty) {
            return;
        }
        let (cancel, cancelled) = oneshot::channel();
        let hurry = Arc::new(Notify::new());
        let task = tokio::spawn(prepare(
            Arc::clone(&self.servers),
            bin_dir.to_path_buf(),
            version.to_owned(),
            Arc::clone(&hurry),
            cancelled,
        ));
        *slot = Slot::Making {
            task,
            cancel,
            hurry,
        };
    }

    /// Stops the spare, or its preparation (at shutdown and reset); its directory goes.
    pub(super) async fn drop_spare(&self) {
        let slot = std::mem::take(&mut *self.spare.lock().unwrap_or_else(PoisonError::into_inner));
        let spare = match slot {
            Slot::Empty => None,
            Slot::Making { task, cancel, .. } => {
                let _ = cancel.send(());
                task.await.ok().flatten()
            }
        };
        if let Some(Spare { mut server, .. }) = spare {
            stop_server(&mut server, true).await;
        }
    }

    /// Ends the spare without waiting (the supervisor is dropped): a spare that is
    /// ready drops with its preparation's handle, and one under way ends with its task.
    pub(super) fn abandon_spare(&mut self) {
        let slot = std::mem::take(self.spare.get_mut().unwrap_or_else(PoisonError::into_inner));
        if let Slot::Making { task, .. } = slot {
            task.abort();
        }
    }
}

/// A spare for clusters answering `version`, or `None` when it cannot be started or its
/// preparation is called off (what it started then ends, and its directory goes).
async fn prepare(
    servers: Arc<Servers>,
    bin_dir: PathBuf,
    version: String,
    hurry: Arc<Notify>,
    cancelled: oneshot::Receiver<()>,
) -> Option<Spare> {
    let dir = servers.root.join(SPARE_DIR);
    let made = async {
        tokio::select! {
            () = tokio::time::sleep(SETTLE) => {}
            () = hurry.notified() => {}
        }
        let (template, mark) = servers.template(&bin_dir, &version).await?;
        // What a spare of an earlier memshift left (one that ended without stopping it).
        let _ = tokio::fs::remove_dir_all(&dir).await;
        servers.make_dir(&dir)?;
        copy_dir(&template, &dir.join("data")).await?;
        let (server, _) = servers.launch(&bin_dir, &dir).await?;
        Ok::<_, String>(Spare { server, mark })
    };
    let made = tokio::select! {
        made = made => made.map_err(Some),
        _ = cancelled => Err(None),
    };
    match made {
        Ok(spare) => Some(spare),
        Err(error) => {
            if let Some(error) = error {
                tracing::warn!(error = %error, "cannot start a spare postgres server");
            }
            let _ = tokio::fs::remove_dir_all(&dir).await;
            None
        }
    }
}
