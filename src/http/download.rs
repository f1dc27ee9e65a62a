//! Downloads made by a blocking producer (the store backup, the issuance-log CSV), streamed as
//! they are written: a blocking thread writes into a bounded channel that the response body
//! drains, so a large export never sits in memory whole.

use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use tokio::sync::mpsc;

use crate::service::Services;

const CHUNK: usize = 64 * 1024;

type Chunk = Result<Bytes, std::io::Error>;

/// The response body: whatever the export thread sends, in order; an error aborts the body,
/// so the client sees a truncated download, which a restore refuses.
struct ChannelBody(mpsc::Receiver<Chunk>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(Frame::data)))
    }
}

/// Buffers the export and hands it to the body in chunks.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buffer: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        // Not `blocking_send`: the producer may be inside `Handle::block_on` (awaiting the
        // store), where tokio refuses to block; this thread is a blocking one either way.
        futures_executor::block_on(self.tx.send(Ok(chunk))).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

/// Streams what `produce` writes as a file download. A failure after the first bytes aborts
/// the body, so the client sees a truncated download rather than a complete-looking file.
pub fn download<F>(content_type: &'static str, filename: &str, produce: F) -> Response
where
    F: FnOnce(&mut dyn Write) -> Result<(), String> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter {
            tx: tx.clone(),
            buffer: Vec::with_capacity(CHUNK),
        };
        let result = produce(&mut writer).and_then(|()| writer.flush().map_err(|e| e.to_string()));
        if let Err(e) = result {
            tracing::error!(error = %e, "a download failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(
                "the export failed; see the server log",
            )));
        }
    });
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::new(ChannelBody(rx)),
    )
        .into_response()
}

/// The store exported while the server runs, as `otpd-<date>.backup`.
pub fn backup(services: Arc<Services>) -> Response {
    let now_ms = services.clock.now_ms();
    let date = jiff::Timestamp::from_millisecond(now_ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let filename = format!("otpd-{date}.backup");
    let runtime = tokio::runtime::Handle::current();
    download("application/octet-stream", &filename, move |mut w| {
        let entries = runtime
            .block_on(services.store.backup(&mut w, now_ms))
            .map_err(|e| e.to_string())?;
        tracing::info!(entries, "backup exported");
        Ok(())
    })
}
