//! Direct routing, as in the LVS-DR tutorial: client, director and real servers on one
//! Ethernet segment; the real servers hold the VIP on `lo` (set up by `lb realserver
//! setup --mode dr`) and answer the client directly.

use lb_bin::lab::Mode;
use lb_tests::{expected, prerequisites, Testbed};

#[test]
fn rr_splits_24_requests_12_12() {
    if !prerequisites("dr rr") {
        return;
    }
    let bed = Testbed::new("dr rr", Mode::Dr, 2);
    bed.add_http_service("rr", &[], &[1, 1]);
    assert_eq!(bed.curl_many(24), expected(&[("rs1\n", 12), ("rs2\n", 12)]));
    let stats = bed.ipvsadm(&["-L", "-n", "--stats"]);
    let lines: Vec<&str> = stats.lines().collect();
    assert_eq!(lines.len(), 6, "{stats}");
    assert_eq!(lines[0], "IP Virtual Server version 1.2.1 (size=4096)");
    assert_eq!(
        lines[1],
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes"
    );
    assert_eq!(lines[2], "  -> RemoteAddress:Port");
    // Conns as the tutorial shows them; replies bypass the director, so nothing goes out.
    let columns =
        |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };
    let service = columns(lines[3]);
    assert_eq!(service[..3], ["TCP", "198.18.1.100:80", "24"], "{stats}");
    assert_eq!(
        (service[4].as_str(), service[6].as_str()),
        ("0", "0"),
        "{stats}"
    );
    for (line, rip) in [(lines[4], "198.18.1.11:80"), (lines[5], "198.18.1.12:80")] {
        let row = columns(line);
        assert_eq!(row[..3], ["->", rip, "12"], "{stats}");
        assert_ne!(row[3], "0", "{stats}");
        assert_eq!((row[4].as_str(), row[6].as_str()), ("0", "0"), "{stats}");
    }
    bed.finish();
}
