//! The installation's feature flags on both backends (migration 12): definitions kept as
//! given, every change a version of the history with who, when, why, before and after; a
//! change that changes nothing is no version; a batch is one transaction. SQLite tests always
//! run; PostgreSQL tests run when `HIREPLANE_TEST_POSTGRES` holds a server URL, each in a
//! freshly created database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use store::{FlagAuthor, FlagKind, NewFlagChange};

use crate::common;
use common::{Fresh, on_both};

fn at(s: i64) -> domain::Instant {
    domain::Instant::from_micros(1_780_000_000_000_000 + s * 1_000_000).unwrap()
}

fn set<'a>(name: &'a str, definition: Option<&'a str>) -> NewFlagChange<'a> {
    NewFlagChange {
        kind: FlagKind::Flag,
        name,
        definition,
    }
}

on_both!(
    "hp_flags",
    flags_keep_definitions_and_every_change,
    |mut f: Fresh| {
        let s = f.store();
        assert_eq!(s.flags_version().unwrap(), 0);
        assert!(s.flags().unwrap().is_empty());
        let a1 = r#"{"name":"a","enabled":true}"#;
        let a2 = r#"{"name":"a","enabled":false}"#;
        let b1 = r#"{"name":"b","enabled":true}"#;
        let seg = r#"{"id":1,"constraints":[]}"#;
        let by = |who: &'static str, why: &'static str, t: i64| FlagAuthor {
            by: who,
            reason: why,
            at: at(t),
        };
        // One batch: a segment and two flags, numbered in order.
        let v = s
            .set_flags(
                &[
                    NewFlagChange {
                        kind: FlagKind::Segment,
                        name: "1",
                        definition: Some(seg),
                    },
                    set("a", Some(a1)),
                    set("b", Some(b1)),
                ],
                by("cli", "import", 1),
            )
            .unwrap();
        assert_eq!(v, vec![1, 2, 3]);
        // The same text again is no change; a new one is.
        assert_eq!(
            s.set_flags(&[set("a", Some(a1))], by("cli", "again", 2))
                .unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(
            s.set_flags(&[set("a", Some(a2))], by("org_x/usr_1", "turn off", 3))
                .unwrap(),
            vec![4]
        );
        // Removing, then removing what is gone (no change).
        assert_eq!(
            s.set_flags(&[set("b", None)], by("cli", "gone", 4))
                .unwrap(),
            vec![5]
        );
        assert_eq!(
            s.set_flags(&[set("b", None)], by("cli", "gone", 5))
                .unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(s.flags_version().unwrap(), 5);
        let rows = s.flags().unwrap();
        let names: Vec<(FlagKind, &str)> = rows.iter().map(|r| (r.kind, r.name.as_str())).collect();
        assert_eq!(names, vec![(FlagKind::Flag, "a"), (FlagKind::Segment, "1")]);
        let a = s.flag(FlagKind::Flag, "a").unwrap().unwrap();
        assert_eq!(a.definition, a2);
        assert_eq!(a.version, 4);
        assert_eq!(a.updated_by, "org_x/usr_1");
        assert_eq!(a.updated_at, at(3));
        assert!(s.flag(FlagKind::Flag, "b").unwrap().is_none());
        assert!(s.flag(FlagKind::Segment, "a").unwrap().is_none());
        // The history of `a`, newest first, with before and after.
        let h = s.flag_history(Some((FlagKind::Flag, "a")), 10).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].version, h[0].reason.as_str(), h[0].changed_by.as_str()),
            (4, "turn off", "org_x/usr_1")
        );
        assert_eq!(h[0].before.as_deref(), Some(a1));
        assert_eq!(h[0].after.as_deref(), Some(a2));
        assert_eq!(h[0].changed_at, at(3));
        assert_eq!((h[1].version, h[1].before.as_deref()), (2, None));
        let all = s.flag_history(None, 10).unwrap();
        assert_eq!(
            all.iter().map(|c| c.version).collect::<Vec<_>>(),
            vec![5, 4, 3, 2, 1]
        );
        assert_eq!(
            (all[0].after.as_deref(), all[0].before.as_deref()),
            (None, Some(b1))
        );
        assert_eq!(s.flag_history(None, 2).unwrap().len(), 2);
    }
);
