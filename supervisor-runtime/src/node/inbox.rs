//! [`Inbox`]: how a supervisor's loop is told anything that is not a mark
//! on its board.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Msg;
use super::board::ReadyBoard;

/// A supervisor loop's inbox: its message channel, and the wake-up of its
/// readiness board.
///
/// The loop waits on the board alone and reads the channel when the board
/// wakes it: a turn that polled the channel's receiver as well cost about
/// 200 instructions more, and a sequential stop of many children takes a
/// turn per child. So every message is sent through here, which wakes the
/// board after the message is in the channel (see
/// [`ReadyBoard::take`]: the loop clears the board's flag before it reads
/// the channel, so a message sent meanwhile wakes it again).
#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    tx: mpsc::UnboundedSender<Msg>,
    board: Arc<ReadyBoard>,
}

impl Inbox {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Msg>, board: Arc<ReadyBoard>) -> Self {
        Self { tx, board }
    }

    /// The same channel, waking `board` instead.
    #[cfg(test)]
    pub(crate) fn with_board(&self, board: Arc<ReadyBoard>) -> Self {
        Self {
            tx: self.tx.clone(),
            board,
        }
    }

    /// Sends `msg` and wakes the loop; gives the message back if the loop
    /// has ended.
    pub(crate) fn send(&self, msg: Msg) -> Result<(), mpsc::error::SendError<Msg>> {
        self.tx.send(msg)?;
        self.board.wake();
        Ok(())
    }
}
