//! The LOG channel: writes each message, with its destination, to the server log under the
//! target `otpd::delivery::log_sink`. For development and the demo brand only: it prints the
//! code, which no other part of otpd ever logs.

use super::{BoxFuture, OutgoingMessage, SendError, SendReceipt, Sender};

pub struct LogSink;

impl Sender for LogSink {
    fn send<'a>(
        &'a self,
        msg: &'a OutgoingMessage<'a>,
    ) -> BoxFuture<'a, Result<SendReceipt, SendError>> {
        Box::pin(async move {
            tracing::info!(
                target: "otpd::delivery::log_sink",
                brand = %msg.brand,
                channel = msg.channel.as_str(),
                to = %msg.to.address(),
                message = %msg.rendered.text,
                "LOG channel delivery"
            );
            Ok(SendReceipt {
                provider_status: "logged".to_owned(),
            })
        })
    }
}
