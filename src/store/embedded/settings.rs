//! The server settings an operator changed in the console (`config::RuntimeOverrides`), kept in
//! the `meta` tree as a versioned JSON record.

use serde::{Deserialize, Serialize};

use super::{EmbeddedStore, StoreError};
use crate::config::RuntimeOverrides;

const KEY: &str = "server_settings";

#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum Record {
    #[serde(rename = "1")]
    V1(RuntimeOverrides),
}

impl EmbeddedStore {
    pub fn runtime_overrides(&self) -> Result<RuntimeOverrides, StoreError> {
        match self.meta.get(KEY)? {
            None => Ok(RuntimeOverrides::default()),
            Some(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Record::V1(o)) => Ok(o),
                Err(e) => Err(StoreError::Decode("server settings", e.to_string())),
            },
        }
    }

    pub fn put_runtime_overrides(&self, o: &RuntimeOverrides) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(&Record::V1(o.clone()))
            .map_err(|e| StoreError::Encode(e.to_string()))?;
        self.meta.insert(KEY, bytes)?;
        self.sync.flush()?;
        Ok(())
    }
}
