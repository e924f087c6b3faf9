//! The in-memory link: batches, in-place rewrites, the flush boundary, limits and counters.

use std::time::Duration;

use lb_io::link::{
    Link, LinkError, LinkStats, MemoryLink, PacketType, RxChecksum, RxMeta, Timestamp, Transmit,
};

/// A 20-byte frame whose destination MAC ends in `n`.
fn frame(n: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, n, 0x02, 0, 0, 0, 0, 0xAA, 0x08, 0x00];
    f.extend_from_slice(&[n; 6]);
    f
}

/// Swaps the Ethernet addresses of a frame, in place.
fn swap_macs(data: &mut [u8]) {
    for i in 0..6 {
        data.swap(i, i + 6);
    }
}

#[test]
fn batches_deliver_in_order_up_to_max_and_rewrite_in_place() {
    let mut link = MemoryLink::new();
    for n in 1..=5 {
        link.push_rx(&frame(n));
    }
    let mut seen = Vec::new();
    let got = link
        .recv_batch(3, Duration::ZERO, &mut |rx, tx| {
            seen.push(rx.data[5]);
            swap_macs(rx.data);
            tx.send(rx.data).unwrap();
        })
        .unwrap();
    assert_eq!(got, 3);
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!(link.rx_pending(), 2);
    assert_eq!(link.tx_queued(), 3);
    assert!(link.take_sent().is_empty(), "nothing leaves before a flush");

    link.flush().unwrap();
    let expected: Vec<Vec<u8>> = (1..=3)
        .map(|n| {
            let mut f = frame(n);
            swap_macs(&mut f);
            f
        })
        .collect();
    assert_eq!(link.take_sent(), expected);
    assert!(link.take_sent().is_empty(), "taken once");

    assert_eq!(
        link.recv_batch(10, Duration::ZERO, &mut |_, _| {}).unwrap(),
        2
    );
    assert_eq!(
        link.recv_batch(10, Duration::from_millis(1), &mut |_, _| {})
            .unwrap(),
        0
    );
}

#[test]
fn metadata_given_with_a_frame_reaches_the_handler() {
    let mut link = MemoryLink::new();
    let meta = RxMeta {
        wire_len: 20,
        timestamp: Timestamp { secs: 7, nanos: 8 },
        vlan: None,
        packet_type: PacketType::Broadcast,
        checksum: RxChecksum::Partial,
    };
    link.push_rx_with(frame(9), meta);
    link.push_rx(&frame(10));
    let mut metas = Vec::new();
    link.recv_batch(2, Duration::ZERO, &mut |rx, _| metas.push(rx.meta))
        .unwrap();
    assert_eq!(metas, [meta, RxMeta::plain(20, Timestamp::default())]);
}

#[test]
fn frames_can_be_built_in_transmit_memory() {
    let mut link = MemoryLink::with_limits(64, 10);
    assert_eq!(link.max_frame_len(), 64);
    let mut offered = 0;
    let len = link
        .send_with(&mut |out| {
            offered = out.len();
            out[..20].copy_from_slice(&frame(4));
            20
        })
        .unwrap();
    assert_eq!((len, offered), (20, 64));
    assert_eq!(link.send_with(&mut |_| 0).unwrap(), 0, "0 sends nothing");
    assert!(matches!(
        link.send_with(&mut |_| 65),
        Err(LinkError::FrameTooLarge { len: 65, max: 64 })
    ));
    link.flush().unwrap();
    assert_eq!(link.take_sent(), vec![frame(4)]);
}

#[test]
fn limits_refuse_frames_and_count_them() {
    let mut link = MemoryLink::with_limits(20, 2);
    assert!(matches!(
        link.send(&[0; 13]),
        Err(LinkError::FrameTooLarge { len: 13, max: 20 })
    ));
    assert!(matches!(
        link.send(&[0; 21]),
        Err(LinkError::FrameTooLarge { len: 21, max: 20 })
    ));
    link.send(&frame(1)).unwrap();
    link.send(&frame(2)).unwrap();
    assert!(matches!(link.send(&frame(3)), Err(LinkError::TxFull)));
    link.flush().unwrap();
    link.send(&frame(4)).unwrap();
    link.flush().unwrap();
    assert_eq!(link.take_sent(), vec![frame(1), frame(2), frame(4)]);

    link.push_rx(&frame(5));
    link.recv_batch(1, Duration::ZERO, &mut |_, _| {}).unwrap();
    assert_eq!(
        link.stats().unwrap(),
        LinkStats {
            rx_frames: 1,
            rx_bytes: 20,
            tx_frames: 3,
            tx_bytes: 60,
            tx_full: 1,
            tx_too_large: 2,
            ..LinkStats::default()
        }
    );
}

#[test]
fn works_as_a_trait_object_forwarding_to_another_link() {
    let mut inside = MemoryLink::new();
    let mut outside: Box<dyn Link> = Box::new(MemoryLink::new());
    inside.push_rx(&frame(1));
    inside.push_rx(&frame(2));
    let forwarded = inside
        .recv_batch(8, Duration::ZERO, &mut |rx, _| {
            outside.send(rx.data).unwrap();
        })
        .unwrap();
    assert_eq!(forwarded, 2);
    outside.flush().unwrap();
    let stats = outside.stats().unwrap();
    assert_eq!((stats.tx_frames, stats.tx_bytes), (2, 40));
}
