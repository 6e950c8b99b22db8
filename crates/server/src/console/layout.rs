//! The console's page frame: `<head>` (stylesheet, scripts, htmx's settings), a skip link, the
//! navigation with the signed-in user and the sign-out button, and messages; the bare frame of
//! the sign-in, 404 and error pages.

use maud::{DOCTYPE, Markup, html};

use super::Signed;
use super::assets::ASSETS;

/// Where a page sits in the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Jobs,
    Reports,
    Admin,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx may not add inline styles (the CSP allows none); its indicator class is ours.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowScriptTags":false,"selfRequestsOnly":true}"#;
            title { (title) " · hireplane" }
            link rel="stylesheet" href=(ASSETS.css);
            script src=(ASSETS.htmx) defer {}
            script src=(ASSETS.js) defer {}
        }
    }
}

/// A page for a signed-in user.
pub fn page(signed: &Signed, title: &str, nav: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/jobs" { "hireplane" }
                    nav aria-label="Main" {
                        ul {
                            li {
                                a href="/console/jobs" aria-current=[(nav == Nav::Jobs).then_some("page")] { "Jobs" }
                            }
                            li {
                                a href="/console/reports" aria-current=[(nav == Nav::Reports).then_some("page")] { "Reports" }
                            }
                            @if signed.role() == "admin" {
                                li {
                                    a href="/console/admin/users" aria-current=[(nav == Nav::Admin).then_some("page")] { "Admin" }
                                }
                            }
                            li {
                                form.nav-form method="post" action="/console/api" {
                                    input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                    button.link type="submit" title="GraphiQL as you, with a token valid an hour" { "API" }
                                }
                            }
                        }
                    }
                    div.who {
                        span { (signed.name) " (" (signed.role().replace('_', " ")) ")" }
                        form method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(signed.session.csrf_token);
                            button.secondary type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// The admin pages: their own navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AdminPage {
    Users,
    CustomFields,
    Policy,
    Audit,
    Flags,
}

/// The admin pages' navigation, above each of them.
pub fn admin_nav(current: AdminPage) -> Markup {
    let item = |page: AdminPage, href: &str, label: &str| {
        html! {
            li { a href=(href) aria-current=[(page == current).then_some("page")] { (label) } }
        }
    };
    html! {
        nav.subnav aria-label="Admin" {
            ul {
                (item(AdminPage::Users, "/console/admin/users", "Users"))
                (item(AdminPage::CustomFields, "/console/admin/custom-fields", "Custom fields"))
                (item(AdminPage::Policy, "/console/admin/policy", "Access policy"))
                (item(AdminPage::Audit, "/console/admin/audit", "Audit log"))
                (item(AdminPage::Flags, "/console/admin/flags", "Feature flags"))
            }
        }
    }
}

/// A page without navigation: sign-in, invitations, 404 and errors.
pub fn bare_with(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top { a.brand href="/console" { "hireplane" } }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A message page (404, errors).
pub fn bare(title: &str, message: &str) -> Markup {
    bare_with(
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/console/jobs" { "Back to the jobs" } }
        },
    )
}

/// A refusal or a confirmation above a page's content.
pub fn message(error: Option<&str>, notice: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
    }
}

/// A value the viewer's policy hides: shown as "hidden", never as a blank.
pub fn hidden() -> Markup {
    html! { span.hidden-value title="Your access policy hides this value" { "hidden" } }
}
