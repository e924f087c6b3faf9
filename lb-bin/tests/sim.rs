//! `lb sim` end to end: the binary run on scripts, output and exit status checked exactly.

use std::io::Write;
use std::process::{Command, Stdio};

fn lb_sim(args: &[&str], stdin: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lb"))
        .arg("sim")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lb runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn picks(out: &str) -> String {
    out.lines()
        .map(|l| match l {
            "198.19.0.1:80" => 'A',
            "198.19.0.2:80" => 'B',
            "198.19.0.3:80" => 'C',
            "-" => '-',
            other => panic!("unexpected line {other:?}"),
        })
        .collect()
}

fn connects(n: usize) -> String {
    connects_from(1000, n)
}

fn connects_from(first_port: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("connect -t 198.18.0.1:80 198.18.1.1:{}\n", first_port + i))
        .collect()
}

/// spec §17, wrr: the sequences of the kernel, from ipvsadm commands.
#[test]
fn wrr_vectors_of_section_17() {
    let add = "-A -t 198.18.0.1:80 -s wrr\n\
               -a -t 198.18.0.1:80 -r 198.19.0.1:80 -m -w 4\n\
               -a -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 3\n\
               -a -t 198.18.0.1:80 -r 198.19.0.3:80 -m -w 2\n";
    // Built with -A then -a: list order C, B, A and cw starting at 1.
    let (out, err, code) = lb_sim(&[], &format!("{add}{}", connects(18)));
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(picks(&out), "CBAABACBACBAABACBA");

    // State initialised with all three present (-E to wrr after the adds): with the list
    // order named A', B', C' = C, B, A this is §17's A'A'B'A'B'C'… for weights [4,3,2]
    // in list order [A(4), B(3), C(2)].
    let list_order = "-A -t 198.18.0.1:80 -s rr\n\
                      -a -t 198.18.0.1:80 -r 198.19.0.3:80 -m -w 2\n\
                      -a -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 3\n\
                      -a -t 198.18.0.1:80 -r 198.19.0.1:80 -m -w 4\n\
                      -E -t 198.18.0.1:80 -s wrr\n";
    let (out, _, code) = lb_sim(&[], &format!("{list_order}{}", connects(18)));
    assert_eq!(code, 0);
    assert_eq!(picks(&out), "AABABCABCAABABCABC");

    for (weights, expect) in [
        ("4 2", "AABAAB"),
        ("5 1", "AAAAABAAAAAB"),
        ("1 1 1", "ABCABC"),
    ] {
        let ws: Vec<&str> = weights.split(' ').collect();
        let mut s = String::from("-A -t 198.18.0.1:80 -s rr\n");
        // Add in reverse so that list order is A, B, C.
        for (i, w) in ws.iter().enumerate().rev() {
            s += &format!("-a -t 198.18.0.1:80 -r 198.19.0.{}:80 -m -w {w}\n", i + 1);
        }
        s += "-E -t 198.18.0.1:80 -s wrr\n";
        s += &connects(expect.len());
        let (out, _, code) = lb_sim(&[], &s);
        assert_eq!(code, 0);
        assert_eq!(picks(&out), expect, "weights {weights}");
    }
}

#[test]
fn rr_starts_with_the_newest_and_skips_quiesced() {
    let s = "-A -t 198.18.0.1:80 -s rr\n\
             -a -t 198.18.0.1:80 -r 198.19.0.1:80 -m\n\
             -a -t 198.18.0.1:80 -r 198.19.0.2:80 -m\n\
             -a -t 198.18.0.1:80 -r 198.19.0.3:80 -m\n"
        .to_string()
        + &connects(4)
        + "-e -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 0\n"
        + &connects_from(2000, 3)
        + "-d -t 198.18.0.1:80 -r 198.19.0.1:80\n-d -t 198.18.0.1:80 -r 198.19.0.3:80\n"
        + &connects_from(3000, 1);
    let (out, err, code) = lb_sim(&[], &s);
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(picks(&out), "CBACACA-");
}

#[test]
fn connect_close_and_listing() {
    let s = "\
# wlc: the second connection goes to .1 (256*1 > 0*3), the others to .2
-A -t 198.18.0.1:80 -s wlc
-a -t 198.18.0.1:80 -r 198.19.0.1:80 -m -x 2
-a -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 3
-A -u 198.18.0.1:53 -s rr
-a -u 198.18.0.1:53 -r [2001:db8::11]:53 -i
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -t 198.18.0.1:80 198.18.1.1:1001
connect -t 198.18.0.1:80 198.18.1.1:1002
connect -t 198.18.0.1:80 198.18.1.1:1003
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -u 198.18.0.1:53 198.18.1.1:5353
close 198.18.1.1:1001 -t 198.18.0.1:80
-L -n
-L -n --stats
";
    let (out, err, code) = lb_sim(&[], s);
    assert_eq!((err.as_str(), code), ("", 0));
    let expect = "\
198.19.0.2:80
198.19.0.1:80
198.19.0.2:80
198.19.0.2:80
198.19.0.2:80
[2001:db8::11]:53
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.18.0.1:80 wlc
  -> 198.19.0.1:80                Masq    1      0          0         
  -> 198.19.0.2:80                Masq    3      3          0         
UDP  198.18.0.1:53 rr
  -> [2001:db8::11]:53            Tunnel  1      0          1         
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  198.18.0.1:80                       4        0        0        0        0
  -> 198.19.0.1:80                       1        0        0        0        0
  -> 198.19.0.2:80                       3        0        0        0        0
UDP  198.18.0.1:53                       1        0        0        0        0
  -> [2001:db8::11]:53                   1        0        0        0        0
";
    assert_eq!(out, expect);
}

#[test]
fn bad_lines_stop_with_the_line_number_and_status_2() {
    for (script, msg) in [
        (
            "-A -t 198.18.0.1:80\n-A -t 198.18.0.1:80\n",
            "line 2: Service already exists",
        ),
        (
            "-A -t 198.18.0.1:0\n",
            "line 1: Zero port specified for non-persistent service",
        ),
        (
            "\n# x\n-a -t 198.18.0.1:80 -r 198.19.0.1\n",
            "line 3: Service not defined",
        ),
        (
            "-A -t 198.18.0.1:80\n-a -t 198.18.0.1:80 -r 198.19.0.1 -x 1 -y 2\n",
            "line 2: Numerical result out of range",
        ),
        (
            "-A -t 198.18.0.1:80\n-d -t 198.18.0.1:80 -r 198.19.0.1\n",
            "line 2: No such destination",
        ),
        ("-A -t 198.18.0.1:80 -w 2\n", "line 1: Illegal 'weight' option with the 'add-service' command"),
        ("connect 198.18.1.1:1\n", "line 1: usage: connect -t|-u|--sctp-service VIP:PORT CLIENT:PORT, or connect -f MARK CLIENT:PORT [DADDR:DPORT]"),
    ] {
        let (out, err, code) = lb_sim(&[], script);
        assert_eq!(code, 2, "{script}");
        assert_eq!(out, "");
        assert_eq!(err, format!("lb sim: <stdin>: {msg}\n"), "{script}");
    }
}

#[test]
fn example_scripts_run() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sim/");
    for f in ["compare.lbsim", "wrr-vectors.lbsim"] {
        let (out, err, code) = lb_sim(&[&format!("{root}{f}")], "");
        assert_eq!((err.as_str(), code), ("", 0), "{f}");
        assert!(out.contains("IP Virtual Server version 1.2.1 (size=4096)\n"));
    }
}

#[test]
fn workload_compares_schedulers_and_writes_svg() {
    let dir = std::env::temp_dir().join(format!("lb-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("w.svg");
    let (out, err, code) = lb_sim(
        &[
            "--workload",
            "--schedulers",
            "rr,wrr",
            "--weights",
            "2,1",
            "--conns",
            "300",
            "--svg",
            svg.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[2].starts_with("rr     198.19.0.11:80        2      150   50.0%   66.7%"));
    assert!(lines[4].starts_with("wrr    198.19.0.11:80        2      200   66.7%   66.7%"));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
    let (_, err, code) = lb_sim(&["--workload", "--schedulers", "zz"], "");
    assert_eq!(code, 2);
    assert!(err.starts_with("lb sim: unknown scheduler `zz' (valid: rr wrr"));
}
