//! `lb director`: the daemon. It opens one link per interface and worker (AF_PACKET, or
//! AF_XDP with `link xdp`), loads the rules, listens on the control socket for
//! `lb ipvsadm`, and runs until SIGTERM / SIGINT (see `docs/director.md` for the whole
//! contract).
//!
//! Threads: N [`worker`]s (the packet path), one [`control`] thread (ipvsadm invocations,
//! rules saving, VIP publishing), one [`housekeeping`] thread (the engine's timers), and the
//! main thread waiting for [`signals`].

pub mod board;
pub mod clock;
pub mod config;
pub mod control;
pub mod host_check;
pub mod housekeeping;
pub mod kernel;
pub mod links;
pub mod log;
pub mod offload;
pub mod protocol;
pub mod relay;
pub mod rules;
pub mod signals;
pub mod vips;
pub mod waker;
pub mod worker;
#[cfg(feature = "xdp")]
pub mod xdp;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use lb_core::engine::{Engine, EngineConfig, Settings as EngineSettings, Side};
use lb_core::ipvsadm::WellKnownServices;
use lb_core::Ipvs;
use lb_io::link::PacketLink;
use lb_io::neigh::NeighParams;
use lb_io::path::{Director, Gateways, InterfaceConfig, IpPrefix};
use lb_io::thread::Scheduling;

use board::Board;
use clock::Clock;
use config::{Config, Flags, HostCheck, LinkKind, Role};
use control::ControlServer;
use links::WorkerLink;
use protocol::{Request, Response};
use relay::NeighbourRelay;
use worker::{Shared, Worker, WorkerReport};

/// `lb director --help`.
pub const USAGE: &str = "\
Usage: lb director [--config FILE] [--interface NAME[=ROLE]]... [--workers N]
                   [--control PATH] [--rules PATH] [--gateway ADDR]...
                   [--log-level error|warn|info|debug] [--host-check refuse|warn]
                   [--link packet|xdp] [--xdp-mode auto|native|generic]
                   [--worker-priority N]

Runs the userspace IPVS director in the current network namespace: receives on
the interfaces (AF_PACKET or AF_XDP), forwards to the real servers as the rules
say, and takes 'lb ipvsadm' commands on the control socket.

Options (flags override the config file):
  --config FILE            read settings from FILE (KEY VALUE lines, see below)
  --interface NAME[=ROLE]  work on interface NAME; ROLE is client, server or both
                           (default both); VIPs are answered for (ARP / NDP) on
                           client and both interfaces (repeatable)
  --workers N              worker threads, 1 to 64 (default 1)
  --control PATH           control socket (default /run/lb/control.sock)
  --rules PATH             rules file in the 'ipvsadm -S' format, loaded at start
                           and rewritten after every change (default /etc/lb/rules;
                           missing = empty table)
  --gateway ADDR           default gateway, one per family (default: the kernel's
                           default route)
  --log-level LEVEL        error, warn, info or debug (default info)
  --host-check MODE        refuse (default) or warn: what to do when IPv4
                           forwarding is on, IPv6 forwarding is on with an IPv6
                           VIP, or a VIP is an address of a kernel interface
  --link KIND              packet (AF_PACKET, default) or xdp (AF_XDP)
  --xdp-mode MODE          auto (default), native or generic (with --link xdp)
  --worker-priority N      run the workers in the realtime class SCHED_FIFO at
                           priority N (1 to 99), so that a frame wakes its worker
                           at once; 0 (default): ordinary scheduling

Config file lines ('#' starts a comment):
  interface NAME [role ROLE] [address ADDR/LEN]...
  gateway ADDR
  workers N
  control PATH
  rules PATH
  log-level LEVEL
  host-check MODE
  link KIND
  xdp-mode MODE
  worker-priority N

Signals: SIGTERM / SIGINT stop (exit 0); SIGHUP re-reads the config file and
applies the log level, the host-check mode and the gateways.
'lb director: ready' is printed on standard error once it runs.
";

/// An error's words without the \"(os error N)\" Rust adds.
pub fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Why the director could not start: the lines to print, and the exit status.
#[derive(Debug)]
struct Fatal {
    lines: Vec<String>,
    code: u8,
}

fn fatal(line: String) -> Fatal {
    Fatal {
        lines: vec![line],
        code: 1,
    }
}

/// `lb director ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let loaded = config::parse_flags(args).and_then(|flags| Ok((config::load(&flags)?, flags)));
    let (config, flags) = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lb director: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&flags, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            for line in &f.lines {
                log::error!("{line}");
            }
            ExitCode::from(f.code)
        }
    }
}

/// A hash seed of the process's own (the connection table's, so nobody can aim at its
/// buckets).
fn random_seed() -> u64 {
    RandomState::new().hash_one(std::process::id())
}

/// The effective gateways: configured ones, else the kernel's default routes.
fn gateways(config: &Config) -> Gateways {
    let kernel = kernel::default_gateways();
    Gateways {
        v4: config.gateway_v4.or(kernel.v4),
        v6: config.gateway_v6.or(kernel.v6),
    }
}

fn show_gateways(g: &Gateways) -> String {
    let list: Vec<String> =
        g.v4.map(|a| a.to_string())
            .into_iter()
            .chain(g.v6.map(|a| a.to_string()))
            .collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

/// Checks the host at start: refuses or warns.
fn check_host(config: &Config, vips: &[IpAddr]) -> Result<(), Fatal> {
    let facts = kernel::read_host().map_err(|e| fatal(format!("reading the host: {e}")))?;
    let problems = host_check::check(&facts, vips);
    if problems.is_empty() {
        return Ok(());
    }
    match config.host_check {
        HostCheck::Warn => {
            for p in &problems {
                log::warning!("{p}");
            }
            Ok(())
        }
        HostCheck::Refuse => {
            let mut lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            lines.push(
                "refusing to start (--host-check warn or `host-check warn' runs anyway)".into(),
            );
            Err(Fatal { lines, code: 1 })
        }
    }
}

/// The configuration of each link: the interface's Ethernet address and MTU (from the
/// link opened on it), the configured addresses or the kernel's, the side.
fn interface_configs<L: WorkerLink>(
    config: &Config,
    first: &[L],
) -> Result<Vec<InterfaceConfig>, Fatal> {
    let kernel = lb_io::link::interface_addresses()
        .map_err(|e| fatal(format!("reading the interfaces' addresses: {e}")))?;
    let mut out = Vec::new();
    for (spec, link) in config.interfaces.iter().zip(first) {
        let mut c = InterfaceConfig::new(link.mac());
        c.mtu = link.interface_mtu();
        c.addrs = if spec.addresses.is_empty() {
            kernel::addresses_of(&kernel, &spec.name)
                .iter()
                .map(|a| IpPrefix::new(a.addr, a.prefix_len))
                .collect()
        } else {
            spec.addresses.clone()
        };
        c.side = match spec.role {
            Role::Client => Side::Client,
            Role::Server | Role::Both => Side::Unknown,
        };
        let addrs: Vec<String> = c.addrs.iter().map(|p| p.to_string()).collect();
        if addrs.is_empty() {
            log::warning!(
                "interface {} has no address: the director cannot resolve next hops on it",
                spec.name
            );
        }
        log::info!(
            "interface {} ({}): {}, mtu {}, {}",
            spec.name,
            spec.role.name(),
            c.mac,
            c.mtu,
            if addrs.is_empty() {
                "no address".to_string()
            } else {
                addrs.join(" ")
            }
        );
        out.push(c);
    }
    Ok(out)
}

/// The workers' links, opened as `config.link` says.
enum Opened {
    Packet(Vec<Vec<PacketLink>>),
    #[cfg(feature = "xdp")]
    Xdp(xdp::XdpLinks),
}

fn open_links(config: &Config) -> Result<Opened, Fatal> {
    match config.link {
        LinkKind::Packet => links::open_packet(config)
            .map(Opened::Packet)
            .map_err(fatal),
        #[cfg(feature = "xdp")]
        LinkKind::Xdp => xdp::open(config).map(Opened::Xdp).map_err(fatal),
        #[cfg(not(feature = "xdp"))]
        LinkKind::Xdp => Err(fatal(
            "this lb was built without AF_XDP support (cargo feature `xdp' of lb-bin): \
             run with --link packet"
                .to_string(),
        )),
    }
}

/// What the control thread needs to answer invocations.
struct ControlContext {
    engine: Arc<Engine>,
    shared: Arc<Shared>,
    clock: Clock,
    rules: PathBuf,
    refuse: Arc<AtomicBool>,
}

impl ControlContext {
    /// One `ipvsadm` invocation: run, then rules saved and VIPs published if it changed
    /// the table.
    fn handle(&self, req: Request) -> Response {
        let args: Vec<&str> = req.args.iter().map(String::as_str).collect();
        let now = self.clock.now();
        let inv = self
            .engine
            .ipvsadm(&args, &req.stdin, now, &WellKnownServices, &req.program);
        log::debug!("ipvsadm {}: exit status {}", args.join(" "), inv.exit_code);
        let mut stderr = inv.stderr;
        if inv.changed {
            if let Err(e) = rules::save(&self.engine, &self.rules, now) {
                let line = format!(
                    "could not save the rules to {}: {}",
                    self.rules.display(),
                    io_reason(&e)
                );
                log::error!("{line}");
                stderr.push_str(&format!("lb director: {line}\n"));
            }
            self.publish_vips();
        }
        Response {
            exit_code: inv.exit_code,
            stdout: inv.stdout,
            stderr,
        }
    }

    /// Publishes the VIPs if they changed, and checks the host for the new ones.
    fn publish_vips(&self) {
        let new = vips::vips_of(&self.engine);
        let (_, old) = self.shared.vips.read();
        let (added, removed) = vips::diff(&old, &new);
        if added.is_empty() && removed.is_empty() {
            return;
        }
        self.shared.vips.publish(new);
        self.shared.relay.wake_all();
        let show = |l: &[IpAddr]| {
            l.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !added.is_empty() {
            log::info!("VIP up: {}", show(&added));
        }
        if !removed.is_empty() {
            log::info!("VIP down: {}", show(&removed));
        }
        if added.is_empty() {
            return;
        }
        match kernel::read_host() {
            Ok(facts) => {
                for p in host_check::check(&facts, &added) {
                    if self.refuse.load(Ordering::Relaxed) {
                        log::error!("{p}");
                    } else {
                        log::warning!("{p}");
                    }
                }
            }
            Err(e) => log::warning!("reading the host: {e}"),
        }
    }
}

/// The running threads.
struct Running {
    workers: Vec<JoinHandle<WorkerReport>>,
    housekeeping: Option<JoinHandle<()>>,
    control: Option<(JoinHandle<()>, waker::Waker)>,
}

impl Running {
    /// Stops every thread and reports the workers' work.
    fn stop(self, shared: &Shared) {
        shared.stop.store(true, Ordering::Release);
        if let Some((handle, waker)) = self.control {
            waker.wake();
            let _ = handle.join();
        }
        shared.relay.wake_all();
        for handle in self.workers {
            match handle.join() {
                Ok(report) => log::info!("{}", report.summary()),
                Err(_) => log::error!("a worker failed"),
            }
        }
        if let Some(handle) = self.housekeeping {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

fn spawn_error(what: &str, e: io::Error) -> Fatal {
    fatal(format!("starting the {what} thread: {e}"))
}

fn run(flags: &Flags, mut config: Config) -> Result<(), Fatal> {
    log::set_level(config.log_level);
    let mut caught =
        signals::Caught::register().map_err(|e| fatal(format!("catching signals: {e}")))?;
    let clock = Clock::start();
    let engine = Arc::new(Engine::new(
        Ipvs::new(),
        EngineSettings::default(),
        EngineConfig {
            hash_seed: random_seed(),
            ..EngineConfig::default()
        },
    ));
    match rules::load(&engine, &config.rules, clock.now()) {
        Ok(0) => log::info!(
            "no rules at {}: starting with an empty table",
            config.rules.display()
        ),
        Ok(n) => log::info!("{n} rules loaded from {}", config.rules.display()),
        Err(e) => return Err(fatal(format!("{}: {e}", config.rules.display()))),
    }
    let vips = vips::vips_of(&engine);
    check_host(&config, &vips)?;

    let opened = open_links(&config)?;
    let mut running = Running {
        workers: Vec::new(),
        housekeeping: None,
        control: None,
    };
    type Refresh = Box<dyn Fn() -> Result<usize, String>>;
    let (shared, started, host_refresh): (_, _, Option<Refresh>) = match opened {
        Opened::Packet(links) => {
            let (shared, started) =
                start(&mut running, links, Vec::new(), &engine, clock, &config)?;
            (shared, started, None)
        }
        #[cfg(feature = "xdp")]
        Opened::Xdp(xdp::XdpLinks {
            per_worker,
            kernel_side,
            host,
        }) => {
            let (shared, started) = start(
                &mut running,
                per_worker,
                kernel_side,
                &engine,
                clock,
                &config,
            )?;
            (shared, started, Some(Box::new(move || host.refresh())))
        }
    };
    let refuse = Arc::new(AtomicBool::new(config.host_check == HostCheck::Refuse));
    let started = started
        .and_then(|()| start_control(&mut running, &engine, &shared, clock, &config, &refuse));
    if let Err(f) = started {
        running.stop(&shared);
        return Err(f);
    }
    log::info!("ready");

    loop {
        match caught.wait() {
            signals::Request::Stop(name) => {
                log::info!("{name}: stopping");
                break;
            }
            signals::Request::Reload => {
                reload(flags, &mut config, &shared, &refuse);
                if let Some(refresh) = &host_refresh {
                    match refresh() {
                        Ok(n) => log::info!("SIGHUP: {n} host addresses left to the kernel"),
                        Err(e) => log::error!("SIGHUP: {e}"),
                    }
                }
            }
        }
    }
    running.stop(&shared);
    log::info!("stopped");
    Ok(())
}

/// Learns the interfaces from the links opened, and starts the workers and the
/// housekeeping thread: the shared state, and whether the threads started.
fn start<L: WorkerLink>(
    running: &mut Running,
    links: Vec<Vec<L>>,
    kernel_side: Vec<PacketLink>,
    engine: &Arc<Engine>,
    clock: Clock,
    config: &Config,
) -> Result<(Arc<Shared>, Result<(), Fatal>), Fatal> {
    let vips = vips::vips_of(engine);
    let interfaces = interface_configs(config, links.first().map_or(&[], Vec::as_slice))?;
    let roles: Vec<Role> = config.interfaces.iter().map(|i| i.role).collect();
    let gateways = gateways(config);
    let link = match config.link {
        LinkKind::Packet => String::new(),
        LinkKind::Xdp => format!(
            " (link {}, xdp-mode {})",
            config.link.name(),
            config.xdp_mode.name()
        ),
    };
    log::info!(
        "{} worker{}{link}, gateways: {}",
        config.workers,
        if config.workers == 1 { "" } else { "s" },
        show_gateways(&gateways)
    );

    let mut wakers = Vec::new();
    let mut wakeups = Vec::new();
    for _ in 0..config.workers {
        let (w, r) = waker::pair().map_err(|e| fatal(format!("socketpair: {e}")))?;
        wakers.push(w);
        wakeups.push(r);
    }
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        vips: Board::new(vips),
        gateways: Board::new(gateways),
        relay: NeighbourRelay::new(wakers),
    });
    let started = start_threads(
        running,
        links,
        kernel_side,
        wakeups,
        &interfaces,
        &roles,
        engine,
        &shared,
        clock,
        config,
    );
    Ok((shared, started))
}

#[allow(clippy::too_many_arguments)]
fn start_threads<L: WorkerLink>(
    running: &mut Running,
    links: Vec<Vec<L>>,
    kernel_side: Vec<PacketLink>,
    wakeups: Vec<waker::Wakeup>,
    interfaces: &[InterfaceConfig],
    roles: &[Role],
    engine: &Arc<Engine>,
    shared: &Arc<Shared>,
    clock: Clock,
    config: &Config,
) -> Result<(), Fatal> {
    // The workers inherit the scheduling of the thread that starts them: this one takes
    // the workers' for as long as it starts them.
    let realtime = WorkerScheduling::enter(config.worker_priority)?;
    let spawned = spawn_workers(
        running,
        links,
        kernel_side,
        wakeups,
        interfaces,
        roles,
        engine,
        shared,
        clock,
    );
    realtime.leave()?;
    spawned?;
    debug_assert_eq!(running.workers.len(), config.workers);
    running.housekeeping = Some(
        housekeeping::spawn(Arc::clone(engine), clock, Arc::clone(shared))
            .map_err(|e| spawn_error("housekeeping", e))?,
    );
    Ok(())
}

/// The starting thread's scheduling while it starts the workers: SCHED_FIFO at the
/// configured priority, then back to what it was.
struct WorkerScheduling {
    before: Option<Scheduling>,
}

impl WorkerScheduling {
    /// Puts the calling thread in SCHED_FIFO at `priority` (nothing for 0).
    fn enter(priority: u8) -> Result<WorkerScheduling, Fatal> {
        if priority == 0 {
            return Ok(WorkerScheduling { before: None });
        }
        let before = Scheduling::of_this_thread()
            .map_err(|e| fatal(format!("reading the scheduling policy: {}", io_reason(&e))))?;
        Scheduling::fifo(priority)
            .apply_to_this_thread()
            .map_err(|e| {
                fatal(format!(
                    "cannot run the workers in SCHED_FIFO at priority {priority} ({}): \
                     it needs CAP_SYS_NICE; run with --worker-priority 0",
                    io_reason(&e)
                ))
            })?;
        log::info!("workers in SCHED_FIFO at priority {priority}");
        Ok(WorkerScheduling {
            before: Some(before),
        })
    }

    /// Gives the calling thread its scheduling back.
    fn leave(self) -> Result<(), Fatal> {
        match self.before {
            Some(before) => before.apply_to_this_thread().map_err(|e| {
                fatal(format!(
                    "restoring the scheduling policy: {}",
                    io_reason(&e)
                ))
            }),
            None => Ok(()),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_workers<L: WorkerLink>(
    running: &mut Running,
    links: Vec<Vec<L>>,
    kernel_side: Vec<PacketLink>,
    wakeups: Vec<waker::Wakeup>,
    interfaces: &[InterfaceConfig],
    roles: &[Role],
    engine: &Arc<Engine>,
    shared: &Arc<Shared>,
    clock: Clock,
) -> Result<(), Fatal> {
    let mut kernel_side = Some(kernel_side);
    for (index, (links, wakeup)) in links.into_iter().zip(wakeups).enumerate() {
        let mut director = Director::new(interfaces.to_vec(), NeighParams::default());
        director.flow_hash_seed = random_seed() as u32;
        let worker = Worker::new(
            index,
            links,
            kernel_side.take().unwrap_or_default(),
            director,
            roles.to_vec(),
            Arc::clone(engine),
            Arc::clone(shared),
            clock,
            wakeup,
        );
        let handle = std::thread::Builder::new()
            .name(format!("lb-worker-{index}"))
            .spawn(move || worker.run())
            .map_err(|e| spawn_error("worker", e))?;
        running.workers.push(handle);
    }
    Ok(())
}

fn start_control(
    running: &mut Running,
    engine: &Arc<Engine>,
    shared: &Arc<Shared>,
    clock: Clock,
    config: &Config,
    refuse: &Arc<AtomicBool>,
) -> Result<(), Fatal> {
    let server = ControlServer::bind(&config.control).map_err(|e| {
        fatal(format!(
            "control socket {}: {}",
            config.control.display(),
            io_reason(&e)
        ))
    })?;
    log::debug!("control socket at {}", server.path().display());
    let (waker, wakeup) = waker::pair().map_err(|e| fatal(format!("socketpair: {e}")))?;
    let context = ControlContext {
        engine: Arc::clone(engine),
        shared: Arc::clone(shared),
        clock,
        rules: config.rules.clone(),
        refuse: Arc::clone(refuse),
    };
    let stop_flag = Arc::clone(shared);
    let handle = std::thread::Builder::new()
        .name("lb-control".into())
        .spawn(move || {
            server.serve(&stop_flag.stop, &wakeup, &mut |req| context.handle(req));
        })
        .map_err(|e| spawn_error("control", e))?;
    running.control = Some((handle, waker));
    Ok(())
}

/// SIGHUP: re-reads the config file; applies the log level, the host-check mode and the
/// gateways; says which other changes need a restart.
fn reload(flags: &Flags, config: &mut Config, shared: &Shared, refuse: &AtomicBool) {
    let Some(file) = &flags.config else {
        log::info!("SIGHUP: no config file to re-read");
        return;
    };
    let new = match config::load(flags) {
        Ok(c) => c,
        Err(e) => {
            log::error!("SIGHUP: {e}; the running settings stay");
            return;
        }
    };
    log::set_level(new.log_level);
    refuse.store(new.host_check == HostCheck::Refuse, Ordering::Relaxed);
    let new_gateways = gateways(&new);
    let (_, old_gateways) = shared.gateways.read();
    if *old_gateways != new_gateways {
        shared.gateways.publish(new_gateways);
        shared.relay.wake_all();
    }
    let restart = [
        ("interfaces", config.interfaces != new.interfaces),
        ("workers", config.workers != new.workers),
        ("control", config.control != new.control),
        ("rules", config.rules != new.rules),
        ("link", config.link != new.link),
        ("xdp-mode", config.xdp_mode != new.xdp_mode),
        (
            "worker-priority",
            config.worker_priority != new.worker_priority,
        ),
    ];
    for (key, changed) in restart {
        if changed {
            log::warning!(
                "SIGHUP: {key} changed in {}: restart the director to apply it",
                file.display()
            );
        }
    }
    log::info!(
        "SIGHUP: {} re-read: log level {}, host check {}, gateways: {}",
        file.display(),
        new.log_level.name(),
        if new.host_check == HostCheck::Refuse {
            "refuse"
        } else {
            "warn"
        },
        show_gateways(&new_gateways)
    );
    // Settings that need a restart keep their running values.
    let keep = std::mem::replace(config, new);
    config.interfaces = keep.interfaces;
    config.workers = keep.workers;
    config.control = keep.control;
    config.rules = keep.rules;
    config.link = keep.link;
    config.xdp_mode = keep.xdp_mode;
    config.worker_priority = keep.worker_priority;
}

/// The control socket's path for a client: `LB_CONTROL`, else the default.
pub fn control_path() -> PathBuf {
    match std::env::var_os("LB_CONTROL") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(config::DEFAULT_CONTROL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use protocol::call;

    /// A control server over a fresh engine in a temporary directory, served on a thread.
    struct Daemon {
        dir: PathBuf,
        socket: PathBuf,
        rules: PathBuf,
        shared: Arc<Shared>,
        stop: Option<(JoinHandle<()>, waker::Waker)>,
    }

    impl Daemon {
        fn start(tag: &str) -> Daemon {
            log::set_level(log::Level::Error);
            let dir = std::env::temp_dir().join(format!("lb-control-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let socket = dir.join("run/control.sock");
            let rules = dir.join("etc/rules");
            let engine = Arc::new(Engine::new(
                Ipvs::new(),
                EngineSettings::default(),
                EngineConfig::default(),
            ));
            let (worker_waker, _worker_wakeup) = waker::pair().unwrap();
            let shared = Arc::new(Shared {
                stop: AtomicBool::new(false),
                vips: Board::new(Vec::new()),
                gateways: Board::new(Gateways::default()),
                relay: NeighbourRelay::new(vec![worker_waker]),
            });
            let server = ControlServer::bind(&socket).unwrap();
            let context = ControlContext {
                engine,
                shared: Arc::clone(&shared),
                clock: Clock::start(),
                rules: rules.clone(),
                refuse: Arc::new(AtomicBool::new(true)),
            };
            let (waker, wakeup) = waker::pair().unwrap();
            let flag = Arc::clone(&shared);
            let handle = std::thread::spawn(move || {
                server.serve(&flag.stop, &wakeup, &mut |req| context.handle(req));
            });
            Daemon {
                dir,
                socket,
                rules,
                shared,
                stop: Some((handle, waker)),
            }
        }

        fn run(&self, args: &str, stdin: &str) -> Response {
            let request = Request {
                program: "ipvsadm".into(),
                args: args.split_whitespace().map(String::from).collect(),
                stdin: stdin.into(),
            };
            call(&self.socket, &request).unwrap()
        }

        fn stop(&mut self) {
            if let Some((handle, waker)) = self.stop.take() {
                self.shared.stop.store(true, Ordering::Release);
                waker.wake();
                handle.join().unwrap();
            }
        }
    }

    impl Drop for Daemon {
        fn drop(&mut self) {
            self.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn ok(stdout: &str) -> Response {
        Response {
            exit_code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn invocations_over_the_socket_answer_as_ipvsadm() {
        let mut d = Daemon::start("session");
        let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        assert_eq!(d.run("-A -t 198.18.0.10:80 -s rr", ""), ok(""));
        assert_eq!(
            d.run("-a -t 198.18.0.10:80 -r 198.19.0.11:8080 -m", ""),
            ok("")
        );
        assert_eq!(
            d.run("-L -n", ""),
            ok("IP Virtual Server version 1.2.1 (size=4096)\n\
                Prot LocalAddress:Port Scheduler Flags\n  \
                -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
                TCP  198.18.0.10:80 rr\n  \
                -> 198.19.0.11:8080             Masq    1      0          0         \n")
        );
        assert_eq!(
            d.run(
                "-R",
                "-A -u 198.18.0.10:53 -s sh\n-a -u 198.18.0.10:53 -r 198.19.0.12 -m -w 2\n"
            ),
            ok("")
        );
        let saved = "-A -t 198.18.0.10:80 -s rr\n\
                     -a -t 198.18.0.10:80 -r 198.19.0.11:8080 -m -w 1\n\
                     -A -u 198.18.0.10:53 -s sh\n\
                     -a -u 198.18.0.10:53 -r 198.19.0.12:53 -m -w 2\n";
        assert_eq!(d.run("-S -n", ""), ok(saved));
        assert_eq!(std::fs::read_to_string(&d.rules).unwrap(), saved);
        assert_eq!(
            d.run("-A -t 198.18.0.10:80", ""),
            Response {
                exit_code: 255,
                stdout: String::new(),
                stderr: "Service already exists\n".into(),
            }
        );
        assert_eq!(
            d.run("-a -t 198.18.0.10:80 -r 198.19.0.13 -w 70000", ""),
            Response {
                exit_code: 2,
                stdout: String::new(),
                stderr: "illegal weight specified\n".into(),
            }
        );
        assert_eq!(
            d.run("--start-daemon master", ""),
            Response {
                exit_code: 255,
                stdout: String::new(),
                stderr: format!("{}\n", lb_core::engine::SYNC_NOT_SUPPORTED),
            }
        );
        let (_, vips) = d.shared.vips.read();
        assert_eq!(vips.as_slice(), ["198.18.0.10".parse::<IpAddr>().unwrap()]);

        assert_eq!(d.run("-C", ""), ok(""));
        assert_eq!(std::fs::read_to_string(&d.rules).unwrap(), "");
        assert!(d.shared.vips.read().1.is_empty());

        d.stop();
        std::thread::sleep(Duration::from_millis(1));
        assert!(!d.socket.exists());
    }

    #[test]
    fn a_second_server_on_a_live_socket_is_refused_and_a_stale_one_replaced() {
        let d = Daemon::start("twice");
        let e = ControlServer::bind(&d.socket).unwrap_err();
        assert_eq!(e.to_string(), "another director is listening there");
        let stale = d.dir.join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        assert!(stale.exists());
        let server = ControlServer::bind(&stale).unwrap();
        assert!(std::os::unix::net::UnixStream::connect(&stale).is_ok());
        drop(server);
        assert!(!stale.exists());
    }
}
