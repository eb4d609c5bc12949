//! Encryption of the personal data that must not be readable from a copy of
//! the database (ID card and passport numbers).
//!
//! Values are sealed with AES-256-GCM under a data key kept outside the
//! database; a keyed hash (HMAC-SHA-256, a "blind index") of the normalised
//! value allows exact search and duplicate detection without decrypting.
//! Both sub-keys are derived from one 32-byte master key:
//! - `KEYUAN_DATA_KEY`: the key itself, base64 (several servers share it);
//! - else `KEYUAN_DATA_KEY_FILE`: a file holding it;
//! - else next to a SQLite database (`keyuan.db.key`), or for PostgreSQL in
//!   `$HOME/.config/keyuan/data.key`; created with mode 0600 on first use
//!   (only once the database itself has opened).
//!
//! Back the key up separately from the database: without it the encrypted
//! fields cannot be read, and with it a stolen database copy can.

use crate::{Result, StoreError};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::path::{Path, PathBuf};

type HmacSha256 = Hmac<Sha256>;

/// The keys for sealing and indexing personal data.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
    index_key: [u8; 32],
    /// Where the key came from, for messages (never the key itself).
    pub source: String,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey(from {})", self.source)
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl DataKey {
    /// Keys derived from a 32-byte master key.
    pub fn from_master(master: &[u8; 32], source: &str) -> DataKey {
        let enc = derive(master, b"keyuan personal data encryption v1");
        DataKey {
            cipher: Aes256Gcm::new_from_slice(&enc).expect("32-byte key"),
            index_key: derive(master, b"keyuan personal data index v1"),
            source: source.to_string(),
        }
    }

    /// Finds or creates the key for the database at `url` (see the module docs).
    pub fn load(url: &str) -> Result<DataKey> {
        if let Ok(b64) = std::env::var("KEYUAN_DATA_KEY") {
            return Ok(DataKey::from_master(&decode_master(&b64, "KEYUAN_DATA_KEY")?, "KEYUAN_DATA_KEY"));
        }
        let path = match std::env::var("KEYUAN_DATA_KEY_FILE") {
            Ok(p) => PathBuf::from(p),
            Err(_) => default_path(url),
        };
        load_or_create(&path)
    }

    /// Seals `plain`; the result is text safe to store.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self.cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).expect("AES-GCM encryption");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v1:{}", B64.encode(out))
    }

    /// Opens a value sealed with this key.
    pub fn open(&self, sealed: &str) -> Result<String> {
        let bad = || {
            StoreError::Backup(format!(
                "an encrypted value cannot be read with the data key from {}; \
                 set KEYUAN_DATA_KEY or KEYUAN_DATA_KEY_FILE to the key this database was written with",
                self.source
            ))
        };
        let raw = B64.decode(sealed.strip_prefix("v1:").ok_or_else(bad)?).map_err(|_| bad())?;
        if raw.len() < 12 {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ct).map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    /// The blind index of a normalised value (hex).
    pub fn index(&self, normalised: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn decode_master(b64: &str, what: &str) -> Result<[u8; 32]> {
    let bytes = B64
        .decode(b64.trim())
        .map_err(|_| StoreError::Connect(format!("{what} is not base64 (expected 32 random bytes, base64-encoded)")))?;
    bytes.try_into().map_err(|_| StoreError::Connect(format!("{what} must hold exactly 32 bytes")))
}

fn default_path(url: &str) -> PathBuf {
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let file = rest.split('?').next().unwrap_or(rest);
        return PathBuf::from(format!("{file}.key"));
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    Path::new(&home).join(".config").join("keyuan").join("data.key")
}

fn load_or_create(path: &Path) -> Result<DataKey> {
    let source = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(DataKey::from_master(&decode_master(&text, &source)?, &source)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut master = [0u8; 32];
            rand::rng().fill_bytes(&mut master);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Connect(format!("cannot create {}: {e}", dir.display())))?;
            }
            write_private(path, &B64.encode(master))
                .map_err(|e| StoreError::Connect(format!("cannot write the data key {source}: {e}")))?;
            tracing::warn!(path = %source, "created a new data key for personal data; back it up apart from the database");
            Ok(DataKey::from_master(&master, &source))
        }
        Err(e) => Err(StoreError::Connect(format!("cannot read the data key {source}: {e}"))),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_never_show_the_plain_text() {
        let k = DataKey::from_master(&[7u8; 32], "test");
        let other = DataKey::from_master(&[8u8; 32], "other");
        let sealed = k.seal("11010519491231002X");
        assert!(!sealed.contains("11010519491231002X") && sealed.starts_with("v1:"));
        assert_ne!(sealed, k.seal("11010519491231002X"), "a fresh nonce every time");
        assert_eq!(k.open(&sealed).unwrap(), "11010519491231002X");
        assert!(other.open(&sealed).is_err());
        assert!(k.open("v1:garbage").is_err());
    }

    #[test]
    fn the_index_is_stable_keyed_and_not_the_value() {
        let k = DataKey::from_master(&[7u8; 32], "test");
        let other = DataKey::from_master(&[8u8; 32], "other");
        assert_eq!(k.index("E12345678"), k.index("E12345678"));
        assert_ne!(k.index("E12345678"), other.index("E12345678"));
        assert!(!k.index("E12345678").contains("12345678"));
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("keyuan-key-{}", std::process::id()));
        let path = dir.join("sub").join("data.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(b.open(&a.seal("x")).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(default_path("sqlite://data/keyuan.db?mode=rwc"), PathBuf::from("data/keyuan.db.key"));
    }
}
