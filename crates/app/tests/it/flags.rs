//! The installation's feature flags through `app`: only admins (allowed `edit` on their org,
//! and of the admin role whatever an org's policy says) or the operator manage them; every
//! definition is checked strictly with errors that name the JSON path; each change is in the
//! history with who and why; an import is all or nothing; export gives back what was set; a
//! user's flags are evaluated with their org, id and role. On SQLite always, on PostgreSQL when
//! `HIREPLANE_TEST_POSTGRES` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use app::flags::{Deployment, FlagsActor};
use app::{AppError, Services};
use common::{Fresh, at};

const ORG: &str = "flagorg";

const BY_ROLE: &str = r#"{"name": "board", "enabled": true,
  "strategies": [{"name": "default", "constraints": [
    {"contextName": "role", "operator": "IN", "values": ["admin"]},
    {"contextName": "orgId", "operator": "IN", "values": ["flagorg"]}]}],
  "variants": [{"name": "wide", "weight": 1000, "payload": {"type": "string", "value": "w"}}]}"#;

fn flags(mut f: Fresh) {
    let g = common::generate(ORG, 60, 5);
    f.import(g.dir.path());
    let s = f.store();
    let users = s.active_users(ORG).unwrap();
    let admin = users.iter().find(|u| u.role == "admin").unwrap().id.clone();
    let recruiter = users
        .iter()
        .find(|u| u.role == "recruiter")
        .unwrap()
        .id
        .clone();
    let services = Services::new();
    let admin_access = services.access(s, ORG, &admin).unwrap();
    let recruiter_access = services.access(s, ORG, &recruiter).unwrap();
    let as_admin = FlagsActor::User(&admin_access, Some(ORG));
    let as_recruiter = FlagsActor::User(&recruiter_access, Some(ORG));

    // An admin of an org that is not the installation's operator org may not: flags switch
    // features for every tenant.
    for operator in [None, Some("another-org")] {
        let e = services
            .set_flag(
                s,
                FlagsActor::User(&admin_access, operator),
                "board",
                BY_ROLE,
                "board.json",
                "try",
                at(),
            )
            .unwrap_err();
        assert!(
            matches!(&e, AppError::Forbidden { action, .. } if action == "manageFlags"),
            "{operator:?}: {e}"
        );
        assert!(matches!(
            services.list_flags(s, FlagsActor::User(&admin_access, operator), at()),
            Err(AppError::Forbidden { .. })
        ));
    }

    // A recruiter may neither set nor read definitions.
    let e = services
        .set_flag(s, as_recruiter, "board", BY_ROLE, "board.json", "try", at())
        .unwrap_err();
    assert!(matches!(e, AppError::Forbidden { .. }), "{e}");
    assert!(matches!(
        services.list_flags(s, as_recruiter, at()),
        Err(AppError::Forbidden { .. })
    ));
    // Not even when the org's policy lets everyone edit the org: flags are the installation's.
    services
        .set_policy(
            s,
            ORG,
            r#"@id("all") permit (principal, action, resource);"#,
            "all.cedar",
            None,
            at(),
        )
        .unwrap();
    let recruiter_access = services.access(s, ORG, &recruiter).unwrap();
    let e = services
        .set_flag(
            s,
            FlagsActor::User(&recruiter_access, Some(ORG)),
            "board",
            BY_ROLE,
            "board.json",
            "try",
            at(),
        )
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Forbidden { action, .. } if action == "manageFlags"),
        "{e}"
    );
    assert_eq!(s.flags_version().unwrap(), 0, "nothing was stored");
    services.reset_policy(s, ORG, None, at()).unwrap();

    // Checks name the input and the JSON path; nothing is stored.
    let bad = BY_ROLE.replace(
        r#""operator": "IN", "values": ["flagorg"]"#,
        r#""operator": "FOO", "values": ["flagorg"]"#,
    );
    let e = services
        .set_flag(s, as_admin, "board", &bad, "board.json", "new board", at())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`board.json`: `strategies[0].constraints[1].operator`: unknown operator `FOO`"
    );
    let e = services
        .set_flag(
            s,
            as_admin,
            "other",
            BY_ROLE,
            "board.json",
            "new board",
            at(),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`board.json`: the definition names flag `board`, not `other`"
    );
    let e = services
        .set_flag(s, as_admin, "board", BY_ROLE, "board.json", "  ", at())
        .unwrap_err();
    assert!(e.to_string().starts_with("`reason`: "), "{e}");
    let dangling =
        r#"{"name": "seg", "enabled": true, "strategies": [{"name": "default", "segments": [9]}]}"#;
    let e = services
        .set_flag(s, as_admin, "seg", dangling, "seg.json", "x", at())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`seg.json`: `strategies[0].segments[0]`: no segment with id 9 is stored (import it first)"
    );
    assert_eq!(s.flags_version().unwrap(), 0);

    // The admin sets it; setting the same definition again is no change.
    let v = services
        .set_flag(
            s,
            as_admin,
            "board",
            BY_ROLE,
            "board.json",
            "new board",
            at(),
        )
        .unwrap();
    assert_eq!(v, Some(1));
    let spaced = BY_ROLE.replace(", ", ",   ");
    assert_eq!(
        services
            .set_flag(s, as_admin, "board", &spaced, "board.json", "same", at())
            .unwrap(),
        None,
        "the same definition, spaced otherwise"
    );
    let h = services
        .flag_history(s, as_admin, Some("board"), 10, at())
        .unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].changed_by, format!("{ORG}/{admin}"));
    assert_eq!(h[0].reason, "new board");
    assert!(h[0].before.is_none());

    // Evaluated for each user: the admin gets it (with the variant), the recruiter does not.
    let loaded = services.load_flags(s).unwrap();
    assert_eq!(loaded.version, 1);
    let d = Deployment {
        replica_version: "0.1.0".into(),
        environment: Some("test".into()),
        operator_org: None,
        canary: false,
    };
    let for_admin = services.evaluate_flags(&loaded.flags, &admin_access, &d, at());
    assert_eq!(for_admin.len(), 1);
    assert!(for_admin[0].enabled);
    assert_eq!(for_admin[0].variant.name, "wide");
    assert_eq!(for_admin[0].variant.payload.as_ref().unwrap().value, "w");
    let for_recruiter = services.evaluate_flags(&loaded.flags, &recruiter_access, &d, at());
    assert!(!for_recruiter[0].enabled);
    assert_eq!(for_recruiter[0].variant.name, "disabled");

    // Import: all or nothing.
    let doc = r#"{"version": 1,
      "segments": [{"id": 1, "constraints": [{"contextName": "role", "operator": "IN", "values": ["recruiter"]}]}],
      "features": [
        {"name": "recruiters", "enabled": true, "strategies": [{"name": "default", "segments": [1]}]},
        {"name": "half", "enabled": true, "strategies": [{"name": "flexibleRollout",
          "parameters": {"rollout": "50", "stickiness": "orgId", "groupId": "half"}}]}
      ]}"#;
    let broken = doc.replace(r#""rollout": "50""#, r#""rollout": 50"#);
    let e = services
        .import_flags(
            s,
            FlagsActor::Operator,
            &broken,
            "unleash.json",
            "import",
            at(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("`unleash.json`: `features[1].strategies[0].parameters.rollout`: "),
        "{e}"
    );
    assert_eq!(
        s.flags_version().unwrap(),
        1,
        "nothing of a refused import is stored"
    );
    let v = services
        .import_flags(s, FlagsActor::Operator, doc, "unleash.json", "import", at())
        .unwrap();
    assert_eq!(v, vec![2, 3, 4]);
    let h = services
        .flag_history(s, FlagsActor::Operator, None, 10, at())
        .unwrap();
    assert_eq!(h[0].changed_by, "cli");
    let loaded = services.load_flags(s).unwrap();
    let for_recruiter = services.evaluate_flags(&loaded.flags, &recruiter_access, &d, at());
    let names: Vec<(&str, bool)> = for_recruiter
        .iter()
        .map(|f| (f.name.as_str(), f.enabled))
        .collect();
    assert_eq!(names[0], ("board", false));
    assert_eq!(names[2], ("recruiters", true));
    // An org-sticky rollout answers the same for every user of the org.
    let half_admin = services.evaluate_flags(&loaded.flags, &admin_access, &d, at())[1].enabled;
    assert_eq!(names[1].1, half_admin);

    // Export gives back what was set; importing it again changes nothing.
    let exported = services.export_flags(s, as_admin, at()).unwrap();
    assert_eq!(exported["features"].as_array().unwrap().len(), 3);
    assert_eq!(exported["segments"][0]["id"], 1);
    let again = services
        .import_flags(
            s,
            as_admin,
            &exported.to_string(),
            "export.json",
            "round trip",
            at(),
        )
        .unwrap();
    assert_eq!(again, Vec::<i64>::new());

    // Removal is a change too; an unknown flag is told.
    assert_eq!(
        services
            .remove_flag(s, as_admin, "half", "done", at())
            .unwrap(),
        5
    );
    assert!(services.show_flag(s, as_admin, "half", at()).is_err());
    assert!(matches!(
        services.remove_flag(s, as_admin, "half", "again", at()),
        Err(AppError::Flags(_))
    ));
}

#[test]
fn flags_on_sqlite() {
    flags(common::sqlite());
}

#[test]
#[cfg_attr(
    not(hp_postgres),
    ignore = "set HIREPLANE_TEST_POSTGRES to a PostgreSQL URL to run"
)]
fn flags_on_postgres() {
    flags(common::postgres());
}
