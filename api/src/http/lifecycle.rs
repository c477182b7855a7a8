//! The server's life after SIGTERM: `/readyz` turns 503 at once (the load balancer stops
//! sending), requests keep being served through the drain, then open WebSockets get a close
//! frame (1001, going away) and the server stops.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tokio::sync::watch;

pub struct Lifecycle {
    draining: AtomicBool,
    closing: watch::Sender<bool>,
    open_sockets: AtomicI64,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            draining: AtomicBool::new(false),
            closing: watch::Sender::new(false),
            open_sockets: AtomicI64::new(0),
        }
    }
}

impl Lifecycle {
    /// From now on `/readyz` answers 503; everything else is still served.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Tells every open WebSocket to close.
    pub fn close_sockets(&self) {
        self.closing.send_replace(true);
    }

    /// Changes to `true` when sockets must close.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Counts a socket for as long as the guard lives.
    pub fn socket_opened(&self) -> SocketGuard<'_> {
        self.open_sockets.fetch_add(1, Ordering::SeqCst);
        SocketGuard(self)
    }

    pub fn open_sockets(&self) -> i64 {
        self.open_sockets.load(Ordering::SeqCst)
    }
}

/// One open WebSocket.
pub struct SocketGuard<'a>(&'a Lifecycle);

impl Drop for SocketGuard<'_> {
    fn drop(&mut self) {
        self.0.open_sockets.fetch_sub(1, Ordering::SeqCst);
    }
}
