//! `GET /admin/api/backup`: the store exported while the server runs, streamed as it is read
//! (a blocking thread writes into a bounded channel that the response body drains), so a large
//! log never sits in memory whole.

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
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

pub async fn backup(services: Arc<Services>) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter {
            tx: tx.clone(),
            buffer: Vec::with_capacity(CHUNK),
        };
        match services.store.backup(&mut writer) {
            Ok(entries) => tracing::info!(entries, "backup exported"),
            Err(e) => {
                tracing::error!(error = %e, "backup failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(
                    "the backup failed; see the server log",
                )));
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"otpd.backup\"",
            ),
        ],
        Body::new(ChannelBody(rx)),
    )
        .into_response()
}
