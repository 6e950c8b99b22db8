//! Reports over demographics as a use case (`docs/privacy.md`): the org's secret and settings,
//! the noise of a cell through the secret, the per-user daily budget, bursts of near-identical
//! runs, the shape of a report (its text with the literals blanked), and which groups to
//! withhold because their populations are a few people apart from others published.
//!
//! The compiler decides what such a report may say and publishes its cells
//! (`query_compiler::demographics`); this module supplies what needs the store or the secret.

use query_compiler::Suppression;
use query_compiler::Value;
use query_compiler::demographics::{CellKey, PerturbationTable, Population, group_of};
use query_syntax::{Expr, ExprKind, Literal, Report};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Runs of one report shape by one user within [`BURST_WINDOW_MINUTES`] that raise an alert.
pub const BURST_RUNS: usize = 5;
/// The window of [`BURST_RUNS`].
pub const BURST_WINDOW_MINUTES: i64 = 10;
/// The smallest threshold an org may set: a count under it is never published.
pub const MIN_THRESHOLD: i64 = 5;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// The 64 uniform bits of a cell: HMAC-SHA256 of its count and key sums, and of its group's
/// population sketch ([`Population::text`]), under the org's secret. The same set of candidates
/// in the same group always gives the same bits; a group whose population changed, by anyone
/// leaving or joining, gives every cell new bits, so that the cells of the people who stayed
/// do not point at the one that changed (red team, pass 10: five candidates without answers
/// added to a location and one moved out left every other cell as it was, and the one that
/// changed told that person's gender). Without the secret nobody can tell them from random.
pub fn cell_bits(secret: &[u8], cell: &CellKey, group: Option<&str>) -> u64 {
    let mut message = Vec::with_capacity(64 + group.map_or(0, str::len));
    message.extend_from_slice(b"hireplane cell key 2");
    message.extend_from_slice(&cell.count.to_be_bytes());
    message.extend_from_slice(&cell.keys[0].to_be_bytes());
    message.extend_from_slice(&cell.keys[1].to_be_bytes());
    if let Some(group) = group {
        message.extend_from_slice(b"group");
        message.extend_from_slice(group.as_bytes());
    }
    let mac = hmac_sha256(secret, &message);
    let mut first = [0u8; 8];
    first.copy_from_slice(&mac[..8]);
    u64::from_be_bytes(first)
}

/// Validated settings, from the store's row.
#[derive(Debug, Clone)]
pub struct Settings {
    pub threshold: u32,
    pub table: PerturbationTable,
    pub daily_budget: i64,
}

impl Settings {
    /// The settings of a stored row; a stored value that no longer validates falls back to the
    /// safe default (never to less protection).
    pub fn of(stored: &store::PrivacySettings) -> Settings {
        Settings {
            threshold: u32::try_from(stored.threshold.max(MIN_THRESHOLD)).unwrap_or(u32::MAX),
            table: PerturbationTable::parse(&stored.noise).unwrap_or_default(),
            daily_budget: stored.daily_budget.max(0),
        }
    }
}

/// The least variance a perturbation table may have: `1` alone (no noise) is a table
/// [`PerturbationTable::parse`] reads, and would publish exact counts (red team, pass 10).
pub const MIN_NOISE_VARIANCE: f64 = 1.0;

/// Checks settings before they are stored: the threshold at least [`MIN_THRESHOLD`], a
/// perturbation table [`PerturbationTable::parse`] accepts with a variance of at least
/// [`MIN_NOISE_VARIANCE`], a budget of at least zero.
pub fn validate(
    threshold: Option<i64>,
    noise: Option<&str>,
    daily_budget: Option<i64>,
) -> Result<(), String> {
    if let Some(t) = threshold
        && !(MIN_THRESHOLD..=1000).contains(&t)
    {
        return Err(format!(
            "threshold `{t}` must be between {MIN_THRESHOLD} and 1000"
        ));
    }
    if let Some(n) = noise {
        let table = PerturbationTable::parse(n)?;
        if table.variance() < MIN_NOISE_VARIANCE {
            return Err(format!(
                "noise `{n}` has a variance of {:.2}, under {MIN_NOISE_VARIANCE}: counts so \
                 nearly exact would let two published groups tell one person's answer (the \
                 default `10,20,40,20,10` has 1.2)",
                table.variance()
            ));
        }
    }
    if let Some(b) = daily_budget
        && !(0..=100_000).contains(&b)
    {
        return Err(format!("daily budget `{b}` must be between 0 and 100000"));
    }
    Ok(())
}

/// The report with every literal blanked (values, relative range lengths): two reports that
/// differ only in the values they compare with have the same shape.
pub fn shape(report: &Report) -> Report {
    fn blank(e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Literal { value } => *value = Literal::Null,
            ExprKind::Path { .. } => {}
            ExprKind::Call { args, filter, .. } => {
                args.iter_mut().for_each(blank);
                if let Some(f) = filter {
                    blank(f);
                }
            }
            ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => blank(expr),
            ExprKind::Binary { left, right, .. } => {
                blank(left);
                blank(right);
            }
            ExprKind::In { expr, list, .. } => {
                blank(expr);
                list.clear();
            }
            ExprKind::Between {
                expr, low, high, ..
            } => {
                blank(expr);
                blank(low);
                blank(high);
            }
            ExprKind::Text { expr, pattern, .. } => {
                blank(expr);
                blank(pattern);
            }
            ExprKind::Within { expr, range, .. } => {
                blank(expr);
                range.count = 0;
            }
        }
    }
    let mut r = report.clone();
    r.filters.iter_mut().for_each(blank);
    for item in r.group_by.iter_mut().chain(r.show.iter_mut()) {
        blank(&mut item.expr);
        if let Some(a) = &mut item.alias {
            a.name = "_".to_owned();
        }
    }
    r.having.iter_mut().for_each(blank);
    for o in &mut r.order_by {
        blank(&mut o.expr);
    }
    r
}

/// The groups of a report over demographics (by `query_compiler::demographics::group_of`) and
/// the sketch of each one's population, in the order of their rows. A row without a sketch
/// (a statement that does not return them) has `None`.
pub type Groups = Vec<(Vec<String>, Option<Population>)>;

/// The groups of `rows`, once each.
pub fn groups(s: &Suppression, rows: &[Vec<Value>], populations: &[Option<Population>]) -> Groups {
    let mut out: Groups = Vec::new();
    let mut seen = HashSet::new();
    for (row, population) in rows.iter().zip(populations) {
        let group = group_of(s, row);
        if seen.insert(group.clone()) {
            out.push((group, population.clone()));
        }
    }
    out
}

/// The populations within `min - 1` people of each group's (the totals the store looks up).
pub fn totals_near(groups: &[(Vec<String>, Option<Population>)], min: i64) -> Vec<i64> {
    let mut totals: Vec<i64> = groups
        .iter()
        .filter_map(|(_, p)| p.as_ref().map(Population::total))
        .flat_map(|t| (t - min + 1).max(0)..=t + min - 1)
        .collect();
    totals.sort_unstable();
    totals.dedup();
    totals
}

/// The groups to withhold because their population is 1 to `min - 1` people apart from a
/// population published before (`published`, the org's, by anyone) or from another group of
/// this report that is published: two such populations give those people's answers away
/// (docs/privacy.md, "Populations published before"). Within the report, the larger group is
/// kept and the smaller withheld. A group without a sketch is withheld.
pub fn near_groups(
    groups: &[(Vec<String>, Option<Population>)],
    published: &[Population],
    min: i64,
) -> HashSet<Vec<String>> {
    let near = |a: &Population, b: &Population| (1..min).contains(&a.apart(b));
    let mut withheld = HashSet::new();
    let mut order: Vec<&(Vec<String>, Option<Population>)> = groups.iter().collect();
    order.sort_by_key(|(group, p)| {
        (
            std::cmp::Reverse(p.as_ref().map_or(0, Population::total)),
            group.clone(),
        )
    });
    let mut kept: Vec<&Population> = Vec::new();
    for (group, population) in order {
        let Some(p) = population else {
            withheld.insert(group.clone());
            continue;
        };
        let close = |q: &&Population| (q.total() - p.total()).abs() < min && near(p, q);
        if published.iter().any(|q| close(&q)) || kept.iter().any(close) {
            withheld.insert(group.clone());
        } else {
            kept.push(p);
        }
    }
    withheld
}

/// The prefix of an answered part's sketch among the populations published before
/// (`published_populations` holds both kinds; a population's sketch never starts with it).
pub const ANSWERED: &str = "answered|";

/// The prefix of the sketch of an answered part of the questions `fields` (sorted names):
/// `answered|gender|`. Parts of other questions are not compared with it: they differ by those
/// who answered one and not the other, which tells no answer (red team, pass 20: a report by
/// race after one by gender withheld 17 of 19 locations).
pub fn answered_marker(fields: &[String]) -> String {
    format!("{ANSWERED}{}|", fields.join(","))
}

/// The groups to withhold because the answered part of their population (the candidates with a
/// demographic value in the report) is 1 to `min - 1` people apart from an answered part
/// published before, or from another group's of this report (the larger kept): an admin can
/// pad a population with candidates who have not answered, so that two populations are far
/// apart while their answered people differ by one (red team, pass 19: 60 populations from 16
/// such candidates, and one person's answer averaged out of them). Groups and parts without
/// anyone who answered are neither withheld by this rule nor compared with: they tell no answer.
pub fn near_answered(
    groups: &[(Vec<String>, Option<Population>)],
    published: &[Population],
    min: i64,
) -> HashSet<Vec<String>> {
    let answered: Vec<(Vec<String>, Option<Population>)> = groups
        .iter()
        .filter(|(_, p)| p.as_ref().is_none_or(|p| p.total() > 0))
        .cloned()
        .collect();
    let published: Vec<Population> = published
        .iter()
        .filter(|p| p.total() > 0)
        .cloned()
        .collect();
    near_groups(&answered, &published, min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_tables_without_enough_noise_are_refused() {
        for weak in ["1", "0,0,1,0,0", "1,8,1"] {
            let e = validate(None, Some(weak), None).unwrap_err();
            assert!(e.contains("variance"), "{e}");
        }
        for fine in ["10,20,40,20,10", "1,6,24,38,24,6,1"] {
            validate(None, Some(fine), None).unwrap();
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_same_cell_gets_the_same_bits_and_a_neighbour_other_bits() {
        let secret = [7u8; 32];
        let a = CellKey {
            count: 12,
            keys: [100, 200],
        };
        let b = CellKey {
            count: 13,
            keys: [100 + 55, 200 + 77],
        };
        let g = Some("1:5,2:9");
        assert_eq!(cell_bits(&secret, &a, g), cell_bits(&secret, &a, g));
        assert_ne!(cell_bits(&secret, &a, g), cell_bits(&secret, &b, g));
        assert_ne!(cell_bits(&secret, &a, g), cell_bits(&[8u8; 32], &a, g));
        // The same people in a group whose population changed: other bits.
        assert_ne!(
            cell_bits(&secret, &a, g),
            cell_bits(&secret, &a, Some("1:5,3:12"))
        );
    }

    #[test]
    fn reports_differing_in_values_have_one_shape() {
        let a = query_syntax::parse(
            r#"report candidates where location = "Berlin" group by demographics.gender as g show count() as n"#,
        )
        .unwrap();
        let b = query_syntax::parse(
            r#"report candidates where location = "Paris" group by demographics.gender as g show count() as n"#,
        )
        .unwrap();
        let c = query_syntax::parse(
            r#"report candidates where location = "Paris" group by demographics.race_ethnicity as g show count() as n"#,
        )
        .unwrap();
        let json = |r: &Report| query_syntax::to_json(&shape(r));
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
    }

    #[test]
    fn settings_are_validated() {
        assert!(validate(Some(5), Some("1,6,24,38,24,6,1"), Some(50)).is_ok());
        assert!(
            validate(Some(2), None, None)
                .unwrap_err()
                .contains("threshold `2`")
        );
        assert!(
            validate(None, Some("1,2"), None)
                .unwrap_err()
                .contains("odd")
        );
        assert!(
            validate(None, Some("1,2,3"), None)
                .unwrap_err()
                .contains("symmetric")
        );
        assert!(validate(None, None, Some(-1)).is_err());
    }

    #[test]
    fn groups_near_a_published_population_or_a_larger_group_are_withheld() {
        use query_compiler::demographics::{POPULATION_BUCKETS, Population};
        // People 0..n, one per bucket in turn, keys 1000 + id.
        let sketch = |people: std::ops::Range<i64>| {
            let mut b = vec![(0i64, 0i64); POPULATION_BUCKETS as usize];
            for p in people {
                let at = (p % POPULATION_BUCKETS) as usize;
                b[at].0 += 1;
                b[at].1 += 1000 + p;
            }
            let text: Vec<String> = b.iter().map(|(c, s)| format!("{c}:{s}")).collect();
            Population::parse(&text.join(",")).unwrap()
        };
        let g = |name: &str, p: Option<Population>| (vec![name.to_owned()], p);
        let groups: Groups = vec![
            g("same", Some(sketch(0..100))),
            g("one more", Some(sketch(0..41))),
            g("five more", Some(sketch(500..545))),
            g("big", Some(sketch(1000..1300))),
            g("big minus two", Some(sketch(1000..1298))),
            g("no sketch", None),
        ];
        let published = vec![sketch(0..100), sketch(0..40), sketch(500..540)];
        let near = near_groups(&groups, &published, 5);
        let mut near: Vec<&str> = near.iter().map(|g| g[0].as_str()).collect();
        near.sort_unstable();
        // The same population again is fine; 1 apart is not; 5 apart is; of two groups of one
        // report 2 apart, the smaller goes; a group without its sketch goes.
        assert_eq!(near, vec!["big minus two", "no sketch", "one more"]);
        let totals = totals_near(&groups[..1], 5);
        assert_eq!(totals, (96..=104).collect::<Vec<_>>());
    }
}
