//! Which references lead from a row the viewer sees only to entities the viewer sees, proved
//! from the viewer's residual policies.
//!
//! Under the default policy a recruiter sees an application when its job is not confidential or
//! they are on its hiring team, and a candidate when the candidate applied to a job that is not
//! confidential or they are on the hiring team of a job the candidate applied to. So every
//! application they see has a candidate they see, and a report that reaches candidates from
//! visible applications need not filter them again (a second filter costs a join condition
//! that PostgreSQL cannot run in parallel). This module proves such facts per viewer, or does
//! not: anything it cannot prove keeps its filter.
//!
//! The proof is syntactic and sound. The row's `view` permits are put in disjunctive normal
//! form over *atoms* (a boolean attribute at the end of a path of references, a set of users
//! containing a user, anything else opaque); the target's in conjunctive normal form, one per
//! permit. The implication holds when every disjunct of the row's permits, for some permit of
//! the target, has in each of its clauses an atom that one of the disjunct's atoms entails:
//! - the same atom seen from the row (`resource.job.confidential` of an application is
//!   `resource.confidential` of its job), or
//! - a declared [`crate::model::Lift`], true by the definition of the target's attribute.
//!
//! The target must have no forbid left, and each of its atoms must be a path of required
//! references to a boolean or a set of users, so that it evaluates without error (Cedar's `||`
//! errs when its left side errs, whatever the right side says). The row's forbids only narrow
//! the rows and are not needed.

use crate::model::{Atom as Lifted, AttrKind, LIFTS, TypeModel, entity_type};
use cedar_policy::pst::{BinaryOp, Expr, Literal, UnaryOp, Var};

/// The residual `view` policies of one type for one viewer, as partial evaluation left them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Residuals {
    /// Per permit that may hold, its clauses (all must hold); an empty list holds always.
    pub permits: Vec<Vec<Clause>>,
    /// Whether a forbid may hold on some row.
    pub forbids: bool,
}

/// A `when` (`holds`) or `unless` (not `holds`) clause of a residual policy.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    pub expr: Expr,
    pub holds: bool,
}

/// Whether every `from` row the residuals `row` allow references, through its attribute `via`,
/// a `target` entity that the residuals `target_residuals` allow.
pub(crate) fn implies(
    from: &TypeModel,
    via: &str,
    row: &Residuals,
    target: &TypeModel,
    target_residuals: &Residuals,
) -> bool {
    if target_residuals.forbids || target_residuals.permits.is_empty() {
        return false;
    }
    let Some(row_dnf) = permits_dnf(&row.permits) else {
        return false;
    };
    let Some(target_cnfs) = target_residuals
        .permits
        .iter()
        .map(|clauses| permit_cnf(clauses))
        .collect::<Option<Vec<Cnf>>>()
    else {
        return false;
    };
    if !target_cnfs
        .iter()
        .flatten()
        .flatten()
        .all(|atom| evaluates(target, atom))
    {
        return false;
    }
    row_dnf.iter().all(|disjunct| {
        target_cnfs.iter().any(|cnf| {
            cnf.iter().all(|clause| {
                clause
                    .iter()
                    .any(|b| disjunct.iter().any(|a| entails(from, via, a, b)))
            })
        })
    })
}

/// A condition that partial evaluation left, as far as the proof reads it.
#[derive(Debug, Clone, PartialEq)]
enum Atom {
    /// `resource.a.b` holds (`true`) or not.
    Is(Vec<String>, bool),
    /// `resource.a.b.contains(who)`, or not.
    Contains(Vec<String>, Expr, bool),
    /// Anything else: entails nothing and is entailed by nothing.
    Other,
}

impl Atom {
    fn of(e: &Expr, holds: bool) -> Atom {
        if let Some(path) = path(e).filter(|p| !p.is_empty()) {
            return Atom::Is(path, holds);
        }
        if let Expr::BinaryOp {
            op: BinaryOp::Contains,
            left,
            right,
        } = e
            && let Some(path) = path(left).filter(|p| !p.is_empty())
            && matches!(right.as_ref(), Expr::Literal(Literal::EntityUID(_)))
        {
            return Atom::Contains(path, right.as_ref().clone(), holds);
        }
        Atom::Other
    }

    fn negated(self) -> Atom {
        match self {
            Atom::Is(p, h) => Atom::Is(p, !h),
            Atom::Contains(p, w, h) => Atom::Contains(p, w, !h),
            Atom::Other => Atom::Other,
        }
    }
}

/// The attribute names of `resource.a.b` (empty for `resource` itself).
fn path(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Var(Var::Resource) => Some(Vec::new()),
        Expr::GetAttr { expr, attr } => {
            let mut p = path(expr)?;
            p.push(attr.to_string());
            Some(p)
        }
        _ => None,
    }
}

/// Disjunctive normal form: any of the conjunctions holds.
type Dnf = Vec<Vec<Atom>>;
/// Conjunctive normal form: each of the disjunctions holds.
type Cnf = Vec<Vec<Atom>>;

/// Beyond this many terms the proof gives up (the policy keeps its filter).
const LIMIT: usize = 256;

fn permits_dnf(permits: &[Vec<Clause>]) -> Option<Dnf> {
    let mut out = Vec::new();
    for clauses in permits {
        let mut conj: Dnf = vec![Vec::new()];
        for c in clauses {
            conj = product(conj, dnf(&c.expr, c.holds)?)?;
        }
        out.extend(conj);
        if out.len() > LIMIT {
            return None;
        }
    }
    Some(out)
}

fn permit_cnf(clauses: &[Clause]) -> Option<Cnf> {
    let mut out = Vec::new();
    for c in clauses {
        // `e` in CNF is `!e` in DNF with every atom negated.
        let negated = dnf(&c.expr, !c.holds)?;
        out.extend(
            negated
                .into_iter()
                .map(|conj| conj.into_iter().map(Atom::negated).collect::<Vec<_>>()),
        );
        if out.len() > LIMIT {
            return None;
        }
    }
    Some(out)
}

/// `e` (or `!e` when not `holds`) in disjunctive normal form.
fn dnf(e: &Expr, holds: bool) -> Option<Dnf> {
    match e {
        Expr::Literal(Literal::Bool(b)) => Some(if *b == holds {
            vec![Vec::new()]
        } else {
            Vec::new()
        }),
        Expr::UnaryOp {
            op: UnaryOp::Not,
            expr,
        } => dnf(expr, !holds),
        Expr::BinaryOp { op, left, right } if matches!(op, BinaryOp::And | BinaryOp::Or) => {
            let l = dnf(left, holds)?;
            let r = dnf(right, holds)?;
            // `a && b` holds when both do; `!(a || b)` when neither does.
            if (*op == BinaryOp::And) == holds {
                product(l, r)
            } else {
                let mut l = l;
                l.extend(r);
                (l.len() <= LIMIT).then_some(l)
            }
        }
        _ => Some(vec![vec![Atom::of(e, holds)]]),
    }
}

fn product(a: Dnf, b: Dnf) -> Option<Dnf> {
    if a.len().saturating_mul(b.len()) > LIMIT {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in &b {
            let mut conj = x.clone();
            conj.extend(y.iter().cloned());
            out.push(conj);
        }
    }
    Some(out)
}

/// Whether the atom `b` about the target holds whenever the atom `a` about the row does.
fn entails(from: &TypeModel, via: &str, a: &Atom, b: &Atom) -> bool {
    let seen_from_row = |pa: &[String], pb: &[String]| {
        pa.split_first()
            .is_some_and(|(first, rest)| first == via && rest == pb)
    };
    match (a, b) {
        (Atom::Is(pa, ha), Atom::Is(pb, hb)) if ha == hb && seen_from_row(pa, pb) => return true,
        (Atom::Contains(pa, wa, ha), Atom::Contains(pb, wb, hb))
            if ha == hb && wa == wb && seen_from_row(pa, pb) =>
        {
            return true;
        }
        _ => {}
    }
    LIFTS
        .iter()
        .filter(|l| l.from == from.name && l.via == via)
        .any(|l| match (l.row, l.target, a, b) {
            (Lifted::Is(lp, lh), Lifted::Is(tp, th), Atom::Is(pa, ha), Atom::Is(pb, hb)) => {
                lh == *ha && th == *hb && same(lp, pa) && same(tp, pb)
            }
            (
                Lifted::Contains(lp),
                Lifted::Contains(tp),
                Atom::Contains(pa, wa, true),
                Atom::Contains(pb, wb, true),
            ) => wa == wb && same(lp, pa) && same(tp, pb),
            _ => false,
        })
}

fn same(declared: &[&str], path: &[String]) -> bool {
    declared.len() == path.len() && declared.iter().zip(path).all(|(d, p)| d == p)
}

/// Whether an atom about `ty` evaluates without error on every entity: a path of required
/// references to a boolean (an `Is`) or a set of users (a `Contains`).
fn evaluates(ty: &TypeModel, atom: &Atom) -> bool {
    let (path, users) = match atom {
        Atom::Is(p, _) => (p, false),
        Atom::Contains(p, _, _) => (p, true),
        Atom::Other => return false,
    };
    let Some((last, refs)) = path.split_last() else {
        return false;
    };
    let mut at: &TypeModel = ty;
    for name in refs {
        match at.attr(name).map(|a| a.kind) {
            Some(AttrKind::Ref {
                target,
                optional: false,
                ..
            }) => match entity_type(target) {
                Some(t) => at = t,
                None => return false,
            },
            _ => return false,
        }
    }
    match at.attr(last).map(|a| a.kind) {
        Some(AttrKind::Users(_)) => users,
        Some(AttrKind::Column(_, crate::model::ColumnType::Bool) | AttrKind::Derived(_)) => !users,
        _ => false,
    }
}
