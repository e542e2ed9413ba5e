//! Boot and lifecycle: settings become the services' state, their engines and a
//! listener; signals and shutdown stop them in order (requests in flight, engines, log).

mod lifecycle;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::tokens::IamTokens;
use crate::api::{self, Api};
use crate::config::Config;
pub use crate::http::{Shared, respond, router};
use crate::protocol::sigv4::Keys;
pub use lifecycle::run;

/// The server binaries the settings name must be there.
fn check_engines(config: &Config) -> Result<(), String> {
    if let Some(path) = &config.services.redis_server
        && path.as_os_str() != "off"
        && !path.is_file()
    {
        return Err(format!(
            "--redis-server {}: no such file (give the path of redis-server or valkey-server)",
            path.display()
        ));
    }
    if let Some(dir) = &config.services.postgres_bin_dir
        && dir.as_os_str() != "off"
        && !dir.join("postgres").is_file()
    {
        return Err(format!(
            "--postgres-bin-dir {}: no postgres binary there (give the directory of \
             PostgreSQL's server binaries, such as /usr/lib/postgresql/15/bin)",
            dir.display()
        ));
    }
    Ok(())
}

/// Builds what a configuration asks for: the services' state, in memory or recovered
/// from the data directory, and their engines; applies the init file when the state is
/// new; and starts the servers of the clusters it holds.
///
/// # Errors
/// A message naming the setting, file or init entry that stopped start-up.
pub async fn prepare(config: &Config) -> Result<Arc<Shared>, String> {
    check_engines(config)?;
    // What an earlier memshift that died left running, and its temporary directories.
    tokio::task::spawn_blocking(crate::engines::orphans::sweep)
        .await
        .map_err(|e| format!("cannot look for what an earlier memshift left: {e}"))?;
    let keys = match &config.credentials_file {
        Some(path) => Keys::load(path, &config.default_account)?,
        None => Keys::default(),
    };
    if config.verify_sigv4 && keys.is_empty() {
        return Err(
            "--verify-sigv4 needs a --credentials-file with at least one access key".to_owned(),
        );
    }
    // The file's IAM users and roles, unless --iam-identity maps the key already.
    let mut settings = config.services.clone();
    for key in keys.iter() {
        if let Some(identity) = &key.identity {
            settings
                .iam_identities
                .entry(key.access_key_id.clone())
                .or_insert_with(|| identity.clone());
        }
    }
    let (api, fresh) = match &config.data_dir {
        None => (Api::new(config.default_scope(), settings)?, true),
        Some(dir) => {
            let (api, recovery) = Api::durable(config.default_scope(), settings, dir)?;
            for (file, offset, bytes, kept) in &recovery.damage {
                tracing::warn!(
                    file,
                    offset,
                    bytes,
                    kept,
                    "damaged log tail cut off at the last whole entry; the cut bytes are kept"
                );
            }
            tracing::info!(
                regions = recovery.snapshot_regions,
                entries = recovery.entries_replayed,
                damaged = recovery.damage.len(),
                "state recovered from the data directory"
            );
            (
                api,
                recovery.snapshot_regions == 0 && recovery.entries_replayed == 0,
            )
        }
    };
    // The proxies check IAM tokens with the credentials file and memshift's clock; set
    // before any cluster (of the init file, say) starts.
    let clock = api.state.clock_handle();
    api.engines.redis.set_token_auth(Arc::new(IamTokens {
        verify_with: config.verify_sigv4.then(|| keys.clone()),
        now: Box::new(move || clock.now()),
    }));
    let init = match &config.init_file {
        Some(path) => api::init::load(path)?,
        None => Vec::new(),
    };
    if fresh {
        if let Err(e) = api::init::apply(&api, &init).await {
            api.engines.stop_all().await;
            api.state.close();
            return Err(e);
        }
        if !init.is_empty() {
            tracing::info!(calls = init.len(), "init file applied");
        }
    } else if !init.is_empty() {
        tracing::info!(
            "state recovered from the data directory; the init file is not applied again"
        );
    }
    drop(init);
    if let Some(offset) = config.clock_offset {
        api.state.clock().advance(offset);
    }
    // Clusters recovered from the data directory get their servers back.
    api::engines::reconcile_all(&api).await;
    Ok(Arc::new(Shared {
        api,
        max_body_bytes: config.max_body_bytes,
        limits: config.limits.clone(),
        keys,
        verify_sigv4: config.verify_sigv4,
        init_file: config.init_file.clone(),
    }))
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for an SDK's endpoint URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    ///
    /// # Errors
    /// An I/O error the server ended with.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.map_err(std::io::Error::other)?
    }
}

/// Prepares the state, binds the configured address (port 0 picks a free one) and serves
/// in the background.
///
/// # Errors
/// The state could not be prepared or the address bound.
pub async fn start(config: &Config) -> Result<Server, String> {
    let shared = prepare(config).await?;
    let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            stop(&shared).await;
            return Err(format!(
                "cannot listen on {}:{}: {e}",
                config.host, config.port
            ));
        }
    };
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, shared, async {
        let _ = stopped.await;
    }));
    Ok(Server {
        addr,
        stop: Some(stop),
        task,
    })
}

/// Serves until `shutdown` completes, lets requests in flight finish, then stops the
/// engines, flushes and closes the log.
///
/// # Errors
/// An I/O error of the server.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = shared.limits.clone();
    let watched = Arc::clone(&shared);
    let supervisor = tokio::spawn(async move { api::engines::supervise(&watched.api).await });
    let result = crate::http::net::serve(listener, Arc::clone(&shared), &limits, shutdown).await;
    supervisor.abort();
    stop(&shared).await;
    result
}

/// Stops the engines, then flushes and closes the log: what an application that serves
/// [`router`] itself does when it stops.
pub async fn stop(shared: &Shared) {
    shared.api.engines.stop_all().await;
    shared.api.state.flush().await;
    shared.api.state.close();
}
