//! twos, power-of-two-choices scheduling (spec §3.9, kernel `ip_vs_twos.c`).

use super::load::{conn_overhead, kernel_weight, ListTree, SumOf};
use super::{eligible, SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The SplitMix64 generator (see [`Twos`]).
#[derive(Debug, Clone, Copy)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 32) as u32
    }
}

/// The power-of-two-choices scheduler (spec §3.9, kernel `ip_vs_twos.c`).
///
/// Over the destinations with weight > 0 and no OVERLOAD: `total` = the sum of their weights;
/// two random numbers `r1`, `r2` in `0..=total`; walking the list, each destination's weight is
/// subtracted from both, and the first destination that brings `r1` to ≤ 0 is choice 1, the
/// first that brings `r2` to ≤ 0 choice 2. Choice 2 wins when
/// `w2 * overhead1 > w1 * overhead2` (C `int` products), else choice 1. With no eligible
/// destination the pick fails without drawing.
///
/// # Random numbers
///
/// The kernel draws with `get_random_u32()`. lb must be reproducible, so each scheduler owns
/// a SplitMix64 generator (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", 2014): the state advances by `0x9E3779B97F4A7C15` per draw and the output is
/// the state mixed by `z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
/// z *= 0x94D049BB133111EB; z ^= z >> 31`; a draw is the high 32 bits of that output. The
/// state starts at the seed given to [`Twos::new`] ([`crate::SchedParams::seed`]), so the same
/// seed, list and operations give the same choices. Each successful pick draws exactly twice,
/// `r1` then `r2`, reduced `% (total + 1)` as the kernel does.
///
/// [`Twos::new`] finds both choices with a sum tree in list order, O(log n) per pick;
/// [`Twos::new_linear`] walks the list as the kernel does, and both draw the same numbers.
#[derive(Debug)]
pub struct Twos {
    rng: SplitMix64,
    engine: Engine,
    /// How many times the tree was found out of step with the list and rebuilt.
    resyncs: u64,
}

#[derive(Debug)]
enum Engine {
    /// Per destination in list order: its weight if eligible, else 0.
    Indexed(ListTree<SumOf>),
    Linear,
}

/// A destination's share of the draw: its weight if eligible, else 0.
fn share(d: &Destination) -> i64 {
    if eligible(d) {
        kernel_weight(d).into()
    } else {
        0
    }
}

/// The kernel's `prandom_u32() % total_weight` with an `int` total: an unsigned remainder.
fn draw(rng: &mut SplitMix64, total: i32) -> i32 {
    // A total of 0 needs an `int` overflow of the weight sum; the kernel would divide by 0.
    rng.next_u32().checked_rem(total as u32).unwrap_or(0) as i32
}

/// Which of the two choices the kernel returns, from their weights and overheads.
fn prefer_second(w1: i32, oh1: i32, w2: i32, oh2: i32) -> bool {
    w2.wrapping_mul(oh1) > w1.wrapping_mul(oh2)
}

impl Twos {
    /// A twos scheduler over `dests` whose random numbers come from `seed`, picking in
    /// O(log n).
    pub fn new(dests: &DestList, seed: u64) -> Self {
        Twos {
            rng: SplitMix64(seed),
            engine: Engine::Indexed(ListTree::build(dests, share)),
            resyncs: 0,
        }
    }

    /// A twos scheduler over `dests` whose random numbers come from `seed`, walking the list
    /// as the kernel does.
    pub fn new_linear(dests: &DestList, seed: u64) -> Self {
        let _ = dests;
        Twos {
            rng: SplitMix64(seed),
            engine: Engine::Linear,
            resyncs: 0,
        }
    }

    /// The kernel's `ip_vs_twos_schedule`, line for line.
    fn walk(&mut self, dests: &DestList) -> Option<usize> {
        let mut total: i32 = 0;
        let mut choice1 = None;
        for (pos, d) in dests.iter().enumerate() {
            if !d.is_overloaded() {
                let w = kernel_weight(d);
                if w > 0 {
                    total = total.wrapping_add(w);
                    choice1 = Some(pos);
                }
            }
        }
        choice1?;
        total = total.wrapping_add(1);
        let mut r1 = draw(&mut self.rng, total);
        let mut r2 = draw(&mut self.rng, total);
        let (mut choice2, mut w1, mut w2, mut oh1, mut oh2) = (None, -1, -1, 0, 0);
        for (pos, d) in dests.iter().enumerate() {
            if d.is_overloaded() {
                continue;
            }
            let w = kernel_weight(d);
            if w <= 0 {
                continue;
            }
            r1 = r1.wrapping_sub(w);
            r2 = r2.wrapping_sub(w);
            if r1 <= 0 && w1 == -1 {
                (choice1, w1, oh1) = (
                    Some(pos),
                    w,
                    conn_overhead(d.active_conns(), d.inactive_conns()),
                );
            }
            if r2 <= 0 && w2 == -1 {
                (choice2, w2, oh2) = (
                    Some(pos),
                    w,
                    conn_overhead(d.active_conns(), d.inactive_conns()),
                );
            }
            if w1 != -1 && w2 != -1 {
                break;
            }
        }
        if choice2.is_some() && prefer_second(w1, oh1, w2, oh2) {
            choice1 = choice2;
        }
        choice1
    }

    /// The same choice from the sum tree: the destination where the running sum of eligible
    /// weights from the head first reaches `r` is the one that brings `r` to ≤ 0 (for `r = 0`,
    /// the first eligible one). `None` when the index is out of step with `dests`.
    fn lookup(&mut self, dests: &DestList) -> Option<Option<usize>> {
        let Engine::Indexed(tree) = &self.engine else {
            return None;
        };
        if tree.len() != dests.len() {
            return None;
        }
        let total = tree.total();
        if total == 0 {
            return Some(None);
        }
        if total >= i64::from(i32::MAX) {
            // The kernel's `int` sum would wrap: walk, reproducing it exactly.
            return Some(self.walk(dests));
        }
        let total = total as i32 + 1;
        let r1 = draw(&mut self.rng, total);
        let r2 = draw(&mut self.rng, total);
        let locate = |r: i32| {
            let seq = tree.seq_at(tree.running_sum_reaches(i64::from(r))?)?;
            let pos = dests.position_of_seq(seq)?;
            let d = dests.get(pos).filter(|d| eligible(d))?;
            Some((
                pos,
                kernel_weight(d),
                conn_overhead(d.active_conns(), d.inactive_conns()),
            ))
        };
        let (pos1, w1, oh1) = locate(r1)?;
        let (pos2, w2, oh2) = locate(r2)?;
        Some(Some(if prefer_second(w1, oh1, w2, oh2) {
            pos2
        } else {
            pos1
        }))
    }

    fn tree_mut(&mut self) -> Option<&mut ListTree<SumOf>> {
        match &mut self.engine {
            Engine::Indexed(tree) => Some(tree),
            Engine::Linear => None,
        }
    }
}

impl Scheduler for Twos {
    fn name(&self) -> &'static str {
        "twos"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        if let Engine::Linear = self.engine {
            return self.walk(dests);
        }
        let rng = self.rng;
        if let Some(pos) = self.lookup(dests) {
            return pos;
        }
        // Out of step: rebuild, and draw the same numbers again.
        self.engine = Engine::Indexed(ListTree::build(dests, share));
        self.resyncs += 1;
        self.rng = rng;
        match self.lookup(dests) {
            Some(pos) => pos,
            None => {
                self.rng = rng;
                self.walk(dests)
            }
        }
    }
    fn add_dest(&mut self, dests: &DestList, pos: usize) {
        let Some(d) = dests.get(pos) else { return };
        if let Some(tree) = self.tree_mut() {
            if !tree.push_head(d.link_seq(), share(d)) {
                *tree = ListTree::build(dests, share);
                self.resyncs += 1;
            }
        }
    }
    fn del_dest(&mut self, _dests: &DestList, removed: &Destination, _old_pos: usize) {
        if let Some(tree) = self.tree_mut() {
            tree.remove(removed.link_seq());
        }
    }
    fn upd_dest(&mut self, dests: &DestList, pos: usize) {
        self.load_changed(dests, pos);
    }
    fn load_changed(&mut self, dests: &DestList, pos: usize) {
        let Some(d) = dests.get(pos) else { return };
        if let Some(tree) = self.tree_mut() {
            if !tree.set(d.link_seq(), share(d)) {
                *tree = ListTree::build(dests, share);
                self.resyncs += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn splitmix64_gives_the_reference_outputs() {
        // SplitMix64 from seed 0: 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f,
        // 0xf88bb8a8724c81ec; a draw is the high half.
        let mut rng = SplitMix64(0);
        let draws: Vec<u32> = (0..4).map(|_| rng.next_u32()).collect();
        assert_eq!(draws, [0xe220_a839, 0x6e78_9e6a, 0x06c4_5d18, 0xf88b_b8a8]);
    }
}
