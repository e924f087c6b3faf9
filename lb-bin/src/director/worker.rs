//! A worker: one thread receiving on one link per interface, running every frame through
//! its own [`Director`] and the shared [`Engine`], and sending what comes out on the right
//! link.
//!
//! The worker is generic over its links' type ([`WorkerLink`]): AF_PACKET links (each in
//! the interface's fanout group, so N workers share the traffic by flow) or AF_XDP links
//! (worker `w` on receive queue `w` of each interface). In XDP mode worker 0 also holds
//! one AF_PACKET link per interface, its *kernel side*: it sees the frames the XDP program
//! left to the kernel (ARP, neighbour discovery, traffic to the director's own addresses),
//! which go through the same [`Director`] as in AF_PACKET mode (VIPs answered, neighbours
//! learnt, the rest passed); what comes out is sent on the XDP links.
//!
//! ```text
//! loop:  poll(all links + kernel-side links + wake-up socket, ≤ 50 ms; 0 when frames were left)
//!        wake-up socket readable: drain it
//!        follow the VIPs / gateways if their generation moved; learn relayed neighbour frames
//!        each ready link: up to 8 batches of 64 frames → process → send (TX rings)
//!        flush every link (one kick each); neighbour timers every 100 ms
//! ```
//!
//! Nothing is allocated or locked by the loop itself per data packet: the output buffer is
//! the worker's, a frame is rewritten in its RX slot / UMEM buffer and copied once into a
//! TX slot / buffer; calls to the links are static (no `dyn Link`). (The engine takes its
//! connection-shard lock; neighbour frames are copied to the other workers.)

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lb_core::engine::Engine;
use lb_core::Time;
use lb_io::link::{Link, LinkError, LinkStats, PacketLink, PollSet, RxChecksum, RxFrame, Transmit};
use lb_io::path::{Action, Director, Gateways, LinkId, Outcome, PathCounters};
use lb_io::wire::EthernetFrame;

use super::board::Board;
use super::clock::Clock;
use super::config::Role;
use super::links::WorkerLink;
use super::log;
use super::offload;
use super::relay::NeighbourRelay;
use super::vips::VipFollower;
use super::waker::Wakeup;

/// Frames taken from a ring per batch.
const BATCH: usize = 64;
/// Batches taken from one link before the others get their turn.
const BATCHES_PER_TURN: usize = 8;
/// The longest sleep in `poll`.
const TICK: Duration = Duration::from_millis(50);
/// How often the neighbour caches' timers run.
const NEIGHBOUR_TIMERS_EVERY: Duration = Duration::from_millis(100);
/// A frame built by the path fits: 64 KiB + 128 bytes.
const OUT_BUFFER_LEN: usize = 65_536 + 128;
/// How long the first receive of a ready link may wait (when the readiness was an error).
const ERROR_WAIT: Duration = Duration::from_millis(1);
/// The shortest time between two log lines about failing links.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// What the workers share with the control side.
#[derive(Debug)]
pub struct Shared {
    /// Set to stop.
    pub stop: AtomicBool,
    /// The VIPs to own.
    pub vips: Board<Vec<IpAddr>>,
    /// The default gateways.
    pub gateways: Board<Gateways>,
    /// Neighbour frames passed between workers, and the wakers of the workers.
    pub relay: NeighbourRelay,
}

/// What a worker did, reported when it stops.
#[derive(Debug, Clone, Default)]
pub struct WorkerReport {
    /// The worker's number.
    pub index: usize,
    /// The packet path's counters.
    pub counters: PathCounters,
    /// The links' counters, summed.
    pub links: LinkStats,
    /// Frames the links refused to send.
    pub send_errors: u64,
}

impl WorkerReport {
    /// `worker 0: 12 frames in, 12 out, 0 dropped, 3 passed to the host`, with the
    /// reasons of drops and passes, and the send errors if any.
    pub fn summary(&self) -> String {
        let c = &self.counters;
        let reasons = |list: Vec<String>| {
            if list.is_empty() {
                String::new()
            } else {
                format!(" ({})", list.join(", "))
            }
        };
        let mut line = format!(
            "worker {}: {} frames in, {} out, {} dropped{}, {} passed to the host{}",
            self.index,
            c.frames_in,
            c.frames_out,
            c.dropped_total(),
            reasons(c.drops().map(|(r, n)| format!("{r} {n}")).collect()),
            c.passed_total(),
            reasons(c.passes().map(|(r, n)| format!("{r} {n}")).collect()),
        );
        if self.send_errors > 0 {
            line.push_str(&format!(", {} not sent", self.send_errors));
        }
        if self.links.rx_truncated > 0 {
            line.push_str(&format!(
                ", {} too long for the receive ring",
                self.links.rx_truncated
            ));
        }
        if self.links.kernel_drops > 0 {
            line.push_str(&format!(
                ", {} lost in the receive rings",
                self.links.kernel_drops
            ));
        }
        line
    }
}

/// Counts failures of the links and logs them now and then.
#[derive(Debug, Default)]
struct Failures {
    send: u64,
    other: u64,
    last_logged: Option<Instant>,
}

impl Failures {
    fn note(&mut self, worker: usize, what: &str, e: &LinkError) {
        self.other += 1;
        let due = self
            .last_logged
            .is_none_or(|t| t.elapsed() >= ERROR_LOG_EVERY);
        if due {
            log::warning!(
                "worker {worker}: {what}: {e} ({} link errors so far)",
                self.other
            );
            self.last_logged = Some(Instant::now());
        }
    }
}

/// One worker, ready to run on its thread.
#[derive(Debug)]
pub struct Worker<L: WorkerLink> {
    index: usize,
    links: Vec<L>,
    /// The kernel side of the links (XDP mode, worker 0): `kernel[i]` sees what the
    /// kernel receives on interface `i`.
    kernel: Vec<PacketLink>,
    director: Director,
    roles: Vec<Role>,
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    clock: Clock,
    wakeup: Wakeup,
    poll: PollSet,
    out: Vec<u8>,
    vips: VipFollower,
    gateways_seen: u64,
    next_timers: Time,
    failures: Failures,
}

/// Sends `frame` on link `to`: through `tx` if it is the receiving link `rx`, else through
/// the link itself (`before` holds the links below `rx`, `after` those above). Returns
/// whether the frame was queued.
fn send_on<L: WorkerLink>(
    rx: usize,
    tx: &mut dyn Transmit,
    before: &mut [L],
    after: &mut [L],
    to: LinkId,
    frame: &[u8],
) -> bool {
    if to.0 == rx {
        tx.send(frame).is_ok()
    } else if to.0 < rx {
        before.get_mut(to.0).is_some_and(|l| l.send(frame).is_ok())
    } else {
        after
            .get_mut(to.0 - rx - 1)
            .is_some_and(|l| l.send(frame).is_ok())
    }
}

/// What running one received frame through the packet path needs besides the frame.
struct FramePath<'a> {
    director: &'a mut Director,
    engine: &'a Engine,
    out: &'a mut [u8],
    /// The relay and this worker's index, when other workers learn from its neighbour
    /// frames.
    relay: Option<(&'a NeighbourRelay, usize)>,
}

impl<'a> FramePath<'a> {
    fn new(
        director: &'a mut Director,
        engine: &'a Engine,
        out: &'a mut [u8],
        shared: &'a Shared,
        index: usize,
    ) -> Self {
        let relay = (shared.relay.workers() > 1).then_some((&shared.relay, index));
        FramePath {
            director,
            engine,
            out,
            relay,
        }
    }

    /// Runs `frame`, received on `rx`, through the path and passes what is to be sent to
    /// `send`; a neighbour frame is also relayed to the other workers.
    fn handle(
        &mut self,
        rx: LinkId,
        frame: RxFrame<'_>,
        now: Time,
        send: &mut impl FnMut(LinkId, &[u8]),
    ) {
        if frame.meta.checksum == RxChecksum::Partial {
            offload::complete_checksum(frame.data);
        }
        let outcome = self
            .director
            .process(self.engine, rx, frame.data, now, self.out);
        emit(&outcome, frame.data, self.out, send);
        if let Some((relay, index)) = self.relay {
            if matches!(outcome.action, Action::Neighbour { .. }) {
                relay.post(index, rx, frame.data);
            }
        }
    }
}

/// Hands up to [`BATCHES_PER_TURN`] batches of `link`'s frames to `handler`, noting a
/// receive error of worker `worker` in `failures`; returns whether frames were left (the
/// last batch was full).
fn drain<L: WorkerLink>(
    link: &mut L,
    worker: usize,
    failures: &mut Failures,
    handler: &mut dyn FnMut(RxFrame<'_>, &mut dyn Transmit),
) -> bool {
    for turn in 0..BATCHES_PER_TURN {
        // poll said the link is ready: frames, or an error (an interface gone down), which
        // only a waiting receive reads (and so clears).
        let wait = if turn == 0 {
            ERROR_WAIT
        } else {
            Duration::ZERO
        };
        let result = link.recv_batch(BATCH, wait, handler);
        if let Err(e) = &result {
            failures.note(worker, link.interface_name(), e);
        }
        if !matches!(result, Ok(BATCH)) {
            return false;
        }
    }
    true
}

/// Passes what `outcome` says to send to `send`: the frame rewritten in place (`frame`),
/// the frame built in `out`, the frames a neighbour answer released.
fn emit(outcome: &Outcome, frame: &[u8], out: &[u8], send: &mut impl FnMut(LinkId, &[u8])) {
    if let Some(e) = outcome.in_place {
        send(e.link, frame.get(..e.len).unwrap_or(&[]));
    }
    if let Some(e) = outcome.built {
        send(e.link, out.get(..e.len).unwrap_or(&[]));
    }
    if let Some(released) = &outcome.released {
        for f in &released.frames {
            send(released.link, f);
        }
    }
}

/// Adds the counters of `b` to `a`.
fn add_stats(a: &mut LinkStats, b: &LinkStats) {
    a.rx_frames += b.rx_frames;
    a.rx_bytes += b.rx_bytes;
    a.rx_truncated += b.rx_truncated;
    a.rx_losing += b.rx_losing;
    a.kernel_packets += b.kernel_packets;
    a.kernel_drops += b.kernel_drops;
    a.tx_frames += b.tx_frames;
    a.tx_bytes += b.tx_bytes;
    a.tx_full += b.tx_full;
    a.tx_too_large += b.tx_too_large;
    a.tx_retries += b.tx_retries;
}

impl<L: WorkerLink> Worker<L> {
    /// Worker `index` over `links` (one per interface, in [`LinkId`] order, with `roles`)
    /// and the kernel side `kernel` (empty, or one AF_PACKET link per interface in the same
    /// order), processing with `director` (configured for the same links) and `engine`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        index: usize,
        links: Vec<L>,
        kernel: Vec<PacketLink>,
        director: Director,
        roles: Vec<Role>,
        engine: Arc<Engine>,
        shared: Arc<Shared>,
        clock: Clock,
        wakeup: Wakeup,
    ) -> Worker<L> {
        let mut poll = PollSet::new();
        for link in &links {
            poll.add(link);
        }
        for link in &kernel {
            poll.add(link);
        }
        poll.add(&wakeup);
        Worker {
            index,
            links,
            kernel,
            director,
            roles,
            engine,
            shared,
            clock,
            wakeup,
            poll,
            out: vec![0; OUT_BUFFER_LEN],
            vips: VipFollower::new(),
            gateways_seen: 0,
            next_timers: Time::ZERO,
            failures: Failures::default(),
        }
    }

    /// Runs until the shared stop flag is set; returns what it did.
    ///
    /// What the control side publishes, and what other workers relay, comes with a wake-up
    /// (the wake-up socket turns readable), so following it once per turn, after the wait,
    /// misses nothing; the wake-up socket is read only when it is readable. A turn that
    /// finds one frame thus costs one `poll` and the batch's receive and send, and no other
    /// system call.
    pub fn run(mut self) -> WorkerReport {
        let wakeup_at = self.links.len() + self.kernel.len();
        self.follow(self.clock.now());
        let mut busy = false;
        while !self.shared.stop.load(Ordering::Acquire) {
            let timeout = if busy { Duration::ZERO } else { TICK };
            if let Err(e) = self.poll.wait(timeout) {
                log::error!("worker {}: poll: {e}", self.index);
                std::thread::sleep(TICK);
                continue;
            }
            if self.poll.is_ready(wakeup_at) {
                self.wakeup.drain();
            }
            let now = self.clock.now();
            self.follow(now);
            busy = false;
            for i in 0..self.links.len() {
                if self.poll.is_ready(i) {
                    busy |= self.receive(i, now);
                }
            }
            for k in 0..self.kernel.len() {
                if self.poll.is_ready(self.links.len() + k) {
                    busy |= self.receive_kernel_side(k, now);
                }
            }
            if now >= self.next_timers {
                self.timers(now);
                self.next_timers = now + NEIGHBOUR_TIMERS_EVERY;
            }
            self.flush();
        }
        self.report()
    }

    /// Applies what the control side published, and the neighbour frames other workers
    /// relayed.
    fn follow(&mut self, now: Time) {
        let Worker {
            links,
            director,
            roles,
            shared,
            index,
            failures,
            ..
        } = self;
        let announce = *index == 0;
        let mut send = |link: LinkId, frame: &[u8]| {
            if let Some(l) = links.get_mut(link.0) {
                if l.send(frame).is_err() {
                    failures.send += 1;
                }
            }
        };
        if let Some(added) = self
            .vips
            .follow(&shared.vips, director, roles, announce, &mut send)
        {
            if announce && !added.is_empty() {
                let list: Vec<String> = added.iter().map(|a| a.to_string()).collect();
                log::debug!("announced {}", list.join(", "));
            }
        }
        if let Some((seen, gateways)) = shared.gateways.changed_since(self.gateways_seen) {
            self.gateways_seen = seen;
            director.set_gateways(*gateways);
        }
        for (link, frame) in shared.relay.take(*index) {
            let Some(neighbours) = director.neighbours_mut(link) else {
                continue;
            };
            // Learn only: the receiving worker answered already.
            let Ok(handled) = neighbours.handle_frame(&frame, now, &mut self.out) else {
                continue;
            };
            if let Some(released) = handled.released {
                for mut f in released.frames {
                    if let Ok(mut eth) = EthernetFrame::new_checked(&mut f[..]) {
                        eth.set_dst_addr(released.mac);
                    }
                    send(link, &f);
                    director.counters.frames_out += 1;
                }
            }
        }
    }

    /// Takes up to [`BATCHES_PER_TURN`] batches from link `i`; returns whether frames were
    /// left (the last batch was full).
    fn receive(&mut self, i: usize, now: Time) -> bool {
        let Worker {
            links,
            director,
            engine,
            shared,
            out,
            index,
            failures,
            ..
        } = self;
        let (before, rest) = links.split_at_mut(i);
        let Some((rx_link, after)) = rest.split_first_mut() else {
            return false;
        };
        let mut path = FramePath::new(director, engine, out, shared, *index);
        let mut sent_errors = 0u64;
        let more = drain(rx_link, *index, failures, &mut |frame, tx| {
            path.handle(LinkId(i), frame, now, &mut |to: LinkId, bytes: &[u8]| {
                if !send_on(i, tx, before, after, to, bytes) {
                    sent_errors += 1;
                }
            });
        });
        failures.send += sent_errors;
        more
    }

    /// Takes up to [`BATCHES_PER_TURN`] batches from the kernel-side link `k` (of
    /// interface `k`) and sends what comes out on the worker's links; returns whether
    /// frames were left.
    fn receive_kernel_side(&mut self, k: usize, now: Time) -> bool {
        let Worker {
            links,
            kernel,
            director,
            engine,
            shared,
            out,
            index,
            failures,
            ..
        } = self;
        let Some(rx_link) = kernel.get_mut(k) else {
            return false;
        };
        let mut path = FramePath::new(director, engine, out, shared, *index);
        let mut sent_errors = 0u64;
        let more = drain(rx_link, *index, failures, &mut |frame, _| {
            path.handle(LinkId(k), frame, now, &mut |to: LinkId, bytes: &[u8]| {
                if links.get_mut(to.0).is_none_or(|l| l.send(bytes).is_err()) {
                    sent_errors += 1;
                }
            });
        });
        failures.send += sent_errors;
        more
    }

    /// Runs the neighbour caches' timers.
    fn timers(&mut self, now: Time) {
        let Worker {
            links,
            director,
            failures,
            ..
        } = self;
        director.poll(now, &mut |link, frame| {
            if let Some(l) = links.get_mut(link.0) {
                if l.send(frame).is_err() {
                    failures.send += 1;
                }
            }
        });
    }

    /// Hands every queued frame to the kernel.
    fn flush(&mut self) {
        for link in &mut self.links {
            if let Err(e) = link.flush() {
                let name = link.interface_name().to_string();
                self.failures.note(self.index, &name, &e);
            }
        }
    }

    fn report(mut self) -> WorkerReport {
        self.flush();
        let mut links = LinkStats::default();
        for link in &mut self.links {
            if let Ok(s) = link.stats() {
                add_stats(&mut links, &s);
            }
        }
        for link in &mut self.kernel {
            if let Ok(s) = link.stats() {
                add_stats(&mut links, &s);
            }
        }
        WorkerReport {
            index: self.index,
            counters: self.director.counters.clone(),
            links,
            send_errors: self.failures.send,
        }
    }
}
