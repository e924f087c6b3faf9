//! The housekeeping thread: the engine's timers (connection expiry, defenses, rate
//! estimation) every 50 ms, on the director's clock.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lb_core::engine::Engine;

use super::clock::Clock;
use super::worker::Shared;

/// Time between two rounds.
pub const EVERY: Duration = Duration::from_millis(50);

/// Starts the thread; it stops when the shared stop flag is set (unpark it to stop at
/// once).
pub fn spawn(engine: Arc<Engine>, clock: Clock, shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("lb-housekeeping".into())
        .spawn(move || {
            while !shared.stop.load(Ordering::Acquire) {
                engine.housekeeping(clock.now());
                std::thread::park_timeout(EVERY);
            }
        })
}
