//! Selection strategies (docs/design.md#strategies): which selectable entry a pick takes, the `list` marker, and
//! round_robin's reordering.
//!
//! These functions see only [`Candidate`]s in priority order and return indices into that
//! slice; the pick transaction turns them back into entries, bumps `request_count` and writes.
//! Randomness comes from the caller's RNG so tests can seed it.
use rand::Rng;

/// A pool's selection strategy (`credential_pool_strategies.<pool key>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The first selectable entry.
    #[default]
    FillFirst,
    /// The first selectable entry, which then moves to the end of the list.
    RoundRobin,
    /// The selectable entry with the lowest `request_count`.
    LeastUsed,
    /// Uniform among the selectable entries.
    Random,
    /// The selectable entry with the most announced headroom (docs/recovery.md#headroom); no
    /// figures count as full; ties go to the fewest requests.
    Headroom,
}

impl Strategy {
    /// Every strategy, in the order help texts and the wizard list them.
    pub const ALL: [Strategy; 5] =
        [Strategy::FillFirst, Strategy::RoundRobin, Strategy::LeastUsed, Strategy::Random, Strategy::Headroom];

    /// Parse a config or flag value. Surrounding blanks and case are ignored, as hermes-agent
    /// does for the same config key; anything else is `None` (the caller warns and uses
    /// fill_first, or rejects the flag).
    pub fn parse(s: &str) -> Option<Strategy> {
        let s = s.trim();
        Strategy::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// The config value: `fill_first`, `round_robin`, `least_used`, `random`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::FillFirst => "fill_first",
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastUsed => "least_used",
            Strategy::Random => "random",
            Strategy::Headroom => "headroom",
        }
    }

    /// One line for help texts and the wizard.
    pub fn description(self) -> &'static str {
        match self {
            Strategy::FillFirst => "use the first key until it is benched",
            Strategy::RoundRobin => "cycle through keys evenly",
            Strategy::LeastUsed => "pick the key with the fewest requests",
            Strategy::Random => "random choice",
            Strategy::Headroom => "pick the key the provider says has the most left",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a strategy needs to know about one entry of the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Whether the entry's status allows a pick (docs/design.md#status).
    pub selectable: bool,
    /// The stored `request_count`.
    pub request_count: i64,
    /// Announced headroom in thousandths of the limit (`None`: no current figures, full).
    pub headroom: Option<u16>,
}

/// The index of the entry a pick takes from `entries` (in priority order), or `None` when no
/// entry is selectable.
pub fn choose(strategy: Strategy, entries: &[Candidate], rng: &mut impl Rng) -> Option<usize> {
    match strategy {
        Strategy::FillFirst | Strategy::RoundRobin => first_selectable(entries),
        Strategy::LeastUsed => least_used(entries),
        Strategy::Headroom => most_headroom(entries),
        Strategy::Random => {
            let selectable: Vec<usize> = selectable(entries).collect();
            if selectable.is_empty() {
                return None;
            }
            selectable.get(rng.gen_range(0..selectable.len())).copied()
        }
    }
}

/// The entry `list` marks as the next pick; random has no marker.
pub fn marker(strategy: Strategy, entries: &[Candidate]) -> Option<usize> {
    match strategy {
        Strategy::FillFirst | Strategy::RoundRobin => first_selectable(entries),
        Strategy::LeastUsed => least_used(entries),
        Strategy::Headroom => most_headroom(entries),
        Strategy::Random => None,
    }
}

/// round_robin's new order after picking `chosen`: every index in `entries` order with `chosen`
/// moved to the end of the whole list (unselectable entries included), so the caller can
/// renumber priorities 0..n−1. `None` (no reordering) unless at least 2 entries are selectable
/// and `chosen` is one of them.
pub fn round_robin_order(entries: &[Candidate], chosen: usize) -> Option<Vec<usize>> {
    if !entries.get(chosen)?.selectable || selectable(entries).count() < 2 {
        return None;
    }
    Some((0..entries.len()).filter(|i| *i != chosen).chain([chosen]).collect())
}

fn selectable(entries: &[Candidate]) -> impl Iterator<Item = usize> + '_ {
    entries.iter().enumerate().filter(|(_, c)| c.selectable).map(|(i, _)| i)
}

fn first_selectable(entries: &[Candidate]) -> Option<usize> {
    selectable(entries).next()
}

/// The lowest `request_count`; `min_by_key` keeps the first of equal keys, so a tie goes to the
/// lower index, i.e. the higher priority.
fn least_used(entries: &[Candidate]) -> Option<usize> {
    selectable(entries).min_by_key(|i| entries[*i].request_count)
}

/// The most announced headroom (no figures: full), then the fewest requests, then priority.
fn most_headroom(entries: &[Candidate]) -> Option<usize> {
    selectable(entries)
        .min_by_key(|i| (std::cmp::Reverse(entries[*i].headroom.unwrap_or(1000)), entries[*i].request_count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn c(list: &[(bool, i64)]) -> Vec<Candidate> {
        list.iter()
            .map(|&(selectable, request_count)| Candidate { selectable, request_count, headroom: None })
            .collect()
    }

    #[test]
    fn parse_and_names() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
            assert!(!s.description().is_empty());
        }
        assert_eq!(Strategy::parse(" Least_Used "), Some(Strategy::LeastUsed));
        assert_eq!(Strategy::parse("ROUND_ROBIN"), Some(Strategy::RoundRobin));
        for bad in ["", "fastest", "round-robin", "fill first"] {
            assert_eq!(Strategy::parse(bad), None, "{bad}");
        }
        assert_eq!(Strategy::default(), Strategy::FillFirst);
        assert_eq!(Strategy::FillFirst.description(), "use the first key until it is benched");
        assert_eq!(Strategy::RoundRobin.description(), "cycle through keys evenly");
        assert_eq!(Strategy::LeastUsed.description(), "pick the key with the fewest requests");
        assert_eq!(Strategy::Random.description(), "random choice");
    }

    #[test]
    fn deterministic_choices_and_markers() {
        let mut rng = StdRng::seed_from_u64(1);
        // (name, strategy, entries, chosen, marker)
        type Row = (&'static str, Strategy, Vec<Candidate>, Option<usize>, Option<usize>);
        let rows: Vec<Row> = vec![
            ("fill_first first", Strategy::FillFirst, c(&[(true, 9), (true, 0)]), Some(0), Some(0)),
            (
                "fill_first skips unselectable",
                Strategy::FillFirst,
                c(&[(false, 0), (false, 0), (true, 5), (true, 1)]),
                Some(2),
                Some(2),
            ),
            ("fill_first none", Strategy::FillFirst, c(&[(false, 0), (false, 0)]), None, None),
            ("fill_first empty", Strategy::FillFirst, vec![], None, None),
            (
                "round_robin first selectable",
                Strategy::RoundRobin,
                c(&[(false, 0), (true, 7), (true, 0)]),
                Some(1),
                Some(1),
            ),
            ("least_used lowest", Strategy::LeastUsed, c(&[(true, 100), (true, 10), (true, 50)]), Some(1), Some(1)),
            (
                "least_used tie by priority",
                Strategy::LeastUsed,
                c(&[(true, 4), (true, 3), (true, 3)]),
                Some(1),
                Some(1),
            ),
            (
                "least_used ignores unselectable",
                Strategy::LeastUsed,
                c(&[(true, 100), (false, 1), (true, 50)]),
                Some(2),
                Some(2),
            ),
            ("least_used none", Strategy::LeastUsed, c(&[(false, 1)]), None, None),
            ("random no marker", Strategy::Random, c(&[(true, 0)]), Some(0), None),
            ("random none", Strategy::Random, c(&[(false, 0), (false, 0)]), None, None),
        ];
        for (name, strategy, entries, chosen, mark) in rows {
            assert_eq!(choose(strategy, &entries, &mut rng), chosen, "{name}");
            assert_eq!(marker(strategy, &entries), mark, "{name}");
        }
    }

    #[test]
    fn random_picks_only_selectable_and_all_of_them() {
        let entries = c(&[(false, 0), (true, 0), (false, 0), (true, 0), (true, 0), (false, 0)]);
        let mut rng = StdRng::seed_from_u64(42);
        let mut hits = [0usize; 6];
        for _ in 0..3000 {
            let i = choose(Strategy::Random, &entries, &mut rng).unwrap();
            hits[i] += 1;
        }
        assert_eq!((hits[0], hits[2], hits[5]), (0, 0, 0));
        for i in [1, 3, 4] {
            // Uniform: about 1000 each.
            assert!((800..1200).contains(&hits[i]), "{hits:?}");
        }
    }

    #[test]
    fn headroom_takes_the_most_left_then_the_fewest_requests() {
        let with = |list: &[(bool, i64, Option<u16>)]| -> Vec<Candidate> {
            list.iter()
                .map(|&(selectable, request_count, headroom)| Candidate { selectable, request_count, headroom })
                .collect()
        };
        let mut rng = StdRng::seed_from_u64(0);
        type Row = (bool, i64, Option<u16>);
        let table: [(&[Row], Option<usize>); 5] = [
            (&[(true, 0, Some(200)), (true, 5, Some(900)), (true, 1, Some(500))], Some(1)),
            // No figures count as full (1000‰).
            (&[(true, 0, Some(999)), (true, 9, None)], Some(1)),
            // A tie goes to the fewest requests, then to priority.
            (&[(true, 4, Some(500)), (true, 2, Some(500)), (true, 2, Some(500))], Some(1)),
            (&[(false, 0, None), (true, 3, Some(10))], Some(1)),
            (&[(false, 0, None)], None),
        ];
        for (list, want) in table {
            let c = with(list);
            assert_eq!(choose(Strategy::Headroom, &c, &mut rng), want, "{list:?}");
            assert_eq!(marker(Strategy::Headroom, &c), want, "{list:?}");
        }
    }

    #[test]
    fn round_robin_reorders() {
        let two = c(&[(true, 0), (true, 0)]);
        assert_eq!(round_robin_order(&two, 0), Some(vec![1, 0]));
        let mixed = c(&[(false, 0), (true, 0), (false, 0), (true, 0)]);
        let chosen = choose(Strategy::RoundRobin, &mixed, &mut StdRng::seed_from_u64(0)).unwrap();
        assert_eq!(round_robin_order(&mixed, chosen), Some(vec![0, 2, 3, 1]));
        // After renumbering, the next pick is the other selectable entry.
        let next: Vec<Candidate> = [0, 2, 3, 1].iter().map(|i| mixed[*i]).collect();
        assert_eq!(choose(Strategy::RoundRobin, &next, &mut StdRng::seed_from_u64(0)), Some(2));

        let single = c(&[(false, 0), (true, 0), (false, 0)]);
        assert_eq!(round_robin_order(&single, 1), None);
        assert_eq!(round_robin_order(&two, 5), None);
        assert_eq!(round_robin_order(&mixed, 0), None, "an unselectable entry is never the chosen one");
        assert_eq!(round_robin_order(&[], 0), None);
    }
}
