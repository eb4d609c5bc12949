//! Uploads waiting between the steps of a web import (mapping, dry run,
//! import) and the reports of finished ones, kept server-side under a random
//! token that only the uploader can use, for [`LIFETIME_MS`].
//!
//! Each upload is two files in the import directory (`KEYUAN_IMPORT_DIR`,
//! default `<temp>/keyuan-imports`): the file as uploaded and the step state
//! (chosen columns, reports), both sealed with the data key, because
//! customer lists hold ID card numbers that must not sit on disk in clear.
//! Several servers behind a load balancer need a shared directory here.

use crate::error::AppError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use store::customer_import::{Report, Target};
use store::{now_ms, Store};

/// How long an upload and its report are kept.
pub(crate) const LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// The state of one upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Staged {
    /// Who uploaded it (only they may continue or see the report).
    pub user_id: i64,
    /// When, epoch ms.
    pub created_at: i64,
    /// The file name as uploaded.
    pub file_name: String,
    /// The columns' fields chosen on the mapping step.
    pub columns: Option<Vec<Option<Target>>>,
    /// The dry run's report.
    pub check: Option<Report>,
    /// The import's report.
    pub result: Option<Report>,
}

fn dir() -> PathBuf {
    std::env::var_os("KEYUAN_IMPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("keyuan-imports"))
}

/// A new random token (32 hex characters).
pub(crate) fn new_token() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Tokens come from URLs: only our own shape may reach the file system.
fn valid(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("import staging: {e}"))
}

/// Keeps an uploaded file and its first state; removes expired uploads.
pub(crate) async fn create(store: &Store, bytes: &[u8], staged: &Staged) -> Result<String, AppError> {
    let d = dir();
    tokio::fs::create_dir_all(&d).await.map_err(internal)?;
    sweep(&d).await;
    let token = new_token();
    let sealed = store.data_key().seal(&B64.encode(bytes));
    tokio::fs::write(d.join(format!("{token}.upload")), sealed).await.map_err(internal)?;
    save(store, &token, staged).await?;
    Ok(token)
}

/// Saves the state of an upload.
pub(crate) async fn save(store: &Store, token: &str, staged: &Staged) -> Result<(), AppError> {
    if !valid(token) {
        return Err(AppError::NotFound);
    }
    let json = serde_json::to_string(staged).map_err(internal)?;
    let tmp = dir().join(format!("{token}.state.tmp"));
    tokio::fs::write(&tmp, store.data_key().seal(&json)).await.map_err(internal)?;
    tokio::fs::rename(&tmp, dir().join(format!("{token}.state"))).await.map_err(internal)
}

/// The state of `token` if `user` uploaded it and it has not expired;
/// anything else is 404.
pub(crate) async fn load(store: &Store, token: &str, user: i64) -> Result<Staged, AppError> {
    if !valid(token) {
        return Err(AppError::NotFound);
    }
    let sealed = match tokio::fs::read_to_string(dir().join(format!("{token}.state"))).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(internal(e)),
    };
    let json = store.data_key().open(&sealed)?;
    let staged: Staged = serde_json::from_str(&json).map_err(internal)?;
    if staged.user_id != user || now_ms() - staged.created_at > LIFETIME_MS {
        return Err(AppError::NotFound);
    }
    Ok(staged)
}

/// The uploaded file of `token` (call [`load`] first: it checks the owner).
pub(crate) async fn file(store: &Store, token: &str) -> Result<Vec<u8>, AppError> {
    if !valid(token) {
        return Err(AppError::NotFound);
    }
    let sealed = match tokio::fs::read_to_string(dir().join(format!("{token}.upload"))).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(internal(e)),
    };
    let b64 = store.data_key().open(&sealed)?;
    B64.decode(b64).map_err(internal)
}

/// Removes uploads older than their lifetime.
async fn sweep(d: &std::path::Path) {
    let Ok(mut entries) = tokio::fs::read_dir(d).await else { return };
    let limit = std::time::Duration::from_millis(LIFETIME_MS as u64);
    while let Ok(Some(e)) = entries.next_entry().await {
        let old = e
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > limit);
        if old {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_tokens_reach_the_file_system() {
        assert!(valid(&new_token()));
        for bad in ["../../etc/passwd", "", "ABCDEF0123456789ABCDEF0123456789", "0123456789abcdef0123456789abcde/"] {
            assert!(!valid(bad), "{bad}");
        }
    }
}
