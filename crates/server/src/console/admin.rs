//! Admin pages: the org's users and roles (read through the API's `users`), and invitations to
//! the console: an admin makes a one-time link for a user to choose a password
//! (`app::Services::invite_user`: `edit` on the org and the admin role). The link is shown once,
//! on the page that made it; only its hash is stored.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::board::or_hidden;
use super::layout::{self, Nav};
use super::{PageError, Signed, at, check_post, graphql, id, page_response, seg, signed_in, text};
use crate::http::{ClientAddr, Shared};

/// How long an invitation link works, in seconds (7 days).
pub const INVITATION_S: i64 = 7 * 86_400;

async fn users(shared: &Arc<Shared>, signed: &Signed) -> Result<Vec<Value>, PageError> {
    let data = graphql(
        shared,
        signed,
        "{ users(first: 200) { nodes { id name email role active } } }",
        json!({}),
    )
    .await?;
    Ok(at(&data, "users.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn render(
    signed: &Signed,
    users: &[Value],
    error: Option<&str>,
    invited: Option<(&str, &str)>,
) -> Markup {
    let admin = signed.role() == "admin";
    html! {
        h1 { "Users" }
        (layout::message(error, None))
        @if let Some((name, link)) = invited {
            div.notice role="status" {
                p { "An invitation for " (name) ". Send them this link (it works once, for 7 days, and is not shown again):" }
                p { code { (link) } }
            }
        }
        table {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Active" }
                @if admin { th scope="col" { "Console" } }
            } }
            tbody {
                @for u in users {
                    tr {
                        td { (or_hidden(u, "name")) }
                        td { (or_hidden(u, "email")) }
                        td { (text(u, "role").replace('_', " ")) }
                        td { @if at(u, "active").as_bool() == Some(true) { "yes" } @else { "no" } }
                        @if admin {
                            td {
                                @if at(u, "active").as_bool() == Some(true) {
                                    form method="post" action={ "/console/admin/users/" (seg(&text(u, "id"))) "/invite" } {
                                        input type="hidden" name="csrf" value=(signed.session.csrf_token);
                                        button.secondary type="submit" aria-label={ "Invite " (text(u, "name")) } { "Invite" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/admin/users`.
pub async fn users_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let list = users(&shared, &signed).await?;
    Ok(page_response(
        StatusCode::OK,
        layout::page(
            &signed,
            "Users",
            Nav::Admin,
            render(&signed, &list, None, None),
        ),
    ))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/admin/users/{id}/invite`.
pub async fn invite(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(user): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let user = id(&user)?.to_owned();
    let services = shared.services.clone();
    let access = signed.caller.access.clone();
    let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
    let target = user.clone();
    let made = shared
        .db
        .run(move |store| services.invite_user(store, &access, &target, now, INVITATION_S))
        .await
        .map_err(|e| super::db_error(&e))?;
    let list = users(&shared, &signed).await?;
    let name = list
        .iter()
        .find(|u| text(u, "id") == user)
        .map(|u| text(u, "name"))
        .unwrap_or_else(|| user.clone());
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match made {
        Ok(code) => {
            let link = format!("http://{host}/console/invitation/{code}");
            Ok(page_response(
                StatusCode::OK,
                layout::page(
                    &signed,
                    "Users",
                    Nav::Admin,
                    render(&signed, &list, None, Some((&name, &link))),
                ),
            ))
        }
        Err(app::sessions::SignInError::App(app::AppError::Forbidden { .. })) => {
            Err(PageError::Refused {
                code: "FORBIDDEN".to_owned(),
                message: "only admins invite users to the console".to_owned(),
            })
        }
        Err(app::sessions::SignInError::App(
            app::AppError::NoSuchEntity { .. } | app::AppError::NoSuchUser { .. },
        ))
        | Err(app::sessions::SignInError::UserGone(_)) => Err(PageError::NotFound),
        Err(app::sessions::SignInError::App(e)) => Err(PageError::Internal(e.to_string())),
        Err(e) => Err(PageError::Refused {
            code: "BAD_USER_INPUT".to_owned(),
            message: e.to_string(),
        }),
    }
}
