//! The jobs list and each job's pipeline board.
//!
//! The board reads through the API in two documents: the job, its stages (by position) and
//! the org's archive reasons; then one grouped report for every column's count and one list of
//! the job's newest [`MAX_CARDS`] applications, split into columns of at most
//! [`CARDS_PER_STAGE`] cards; both filtered by status and by the candidate's name. A card shows the candidate as the viewer's policy lets them see
//! them (a name they may not see is "hidden").
//!
//! Moving is a form on each card (a stage `select` and a button: keyboard and no script alike);
//! with scripts, htmx posts it and swaps the board in place, and dropping a card on a column
//! fills and posts the same form (`console.js`). Archiving is a form with the org's reasons.
//! Both are the API's mutations (`moveApplication`, `archiveApplication`) as the viewer.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::layout::{self, Nav};
use super::{
    PageError, Signed, at, bounded, check_post, from_htmx, graphql, id, page_response, redirect,
    seg, signed_in, text,
};
use crate::http::{ClientAddr, Shared};

/// Cards shown per column (the count says how many there are).
pub const CARDS_PER_STAGE: usize = 30;
/// Cards read for a whole board (the newest), split into its columns.
pub const MAX_CARDS: usize = 200;
/// The longest name filter, in characters.
pub const MAX_FILTER_CHARS: usize = 100;
/// Stages shown on one board.
pub const MAX_STAGES: usize = 30;

/// A GraphQL string literal of `s` (JSON's escapes are GraphQL's).
pub fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// `GET /console/jobs`: the jobs the viewer may see.
pub async fn jobs_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let data = graphql(
        &shared,
        &signed,
        "{ jobs(first: 200) { totalCount nodes { id title status location department { name } } } }",
        json!({}),
    )
    .await?;
    let jobs = at(&data, "jobs.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let body = html! {
        h1 { "Jobs" }
        p.muted { (text(&data, "jobs.totalCount")) " jobs you may see." }
        table {
            thead { tr { th scope="col" { "Job" } th scope="col" { "Department" } th scope="col" { "Location" } th scope="col" { "Status" } } }
            tbody {
                @for job in &jobs {
                    tr {
                        td { a href={ "/console/jobs/" (seg(&text(job, "id"))) } { (or_hidden(job, "title")) } }
                        td { (or_hidden(job, "department.name")) }
                        td { (or_hidden(job, "location")) }
                        td { (or_hidden(job, "status")) }
                    }
                }
            }
        }
    };
    Ok(page_response(
        StatusCode::OK,
        layout::page(&signed, "Jobs", Nav::Jobs, body),
    ))
}

/// A value, or "hidden" when the API gives null (the viewer's policy hides it, or it is empty:
/// for fields every record has, null means hidden).
pub fn or_hidden(v: &Value, path: &str) -> Markup {
    match at(v, path) {
        Value::Null => layout::hidden(),
        _ => html! { (text(v, path)) },
    }
}

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    /// Part of the candidate's name.
    #[serde(default)]
    q: String,
    /// `active` (default) or `archived`.
    #[serde(default)]
    status: String,
}

struct Board {
    job: Value,
    stages: Vec<Value>,
    reasons: Vec<String>,
    columns: Value,
    status: String,
    q: String,
}

/// The name filter as a condition of the report language (the text quoted as a string of the
/// language, so it is only ever text), refused when too long or holding control characters.
fn name_filter(q: &str) -> Result<Option<String>, PageError> {
    let q = bounded("q", q.trim(), MAX_FILTER_CHARS)?;
    if q.is_empty() {
        return Ok(None);
    }
    if q.chars().any(char::is_control) {
        return Err(PageError::BadInput(
            "`q`: a name filter may not hold control characters".to_owned(),
        ));
    }
    Ok(Some(format!(
        "candidate.name contains {}",
        crate::graphql::read::literal(q)
    )))
}

async fn load_board(
    shared: &Arc<Shared>,
    signed: &Signed,
    job_id: &str,
    query: &BoardQuery,
) -> Result<Board, PageError> {
    let status = match query.status.as_str() {
        "" | "active" => "active",
        "archived" => "archived",
        "hired" => "hired",
        _ => {
            return Err(PageError::BadInput(
                "`status` must be `active`, `archived` or `hired`".to_owned(),
            ));
        }
    };
    let filter = name_filter(&query.q)?;
    let first = graphql(
        shared,
        signed,
        &format!(
            "{{ job(id: {job}) {{ id title status department {{ name }} }} \
             stages(first: {MAX_STAGES}, filter: {{jobId: {job}}}, orderBy: {{field: POSITION, direction: ASC}}) \
             {{ nodes {{ id name kind }} }} archiveReasons }}",
            job = lit(job_id)
        ),
        json!({}),
    )
    .await?;
    if at(&first, "job").is_null() {
        return Err(PageError::NotFound);
    }
    let stages = at(&first, "stages.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let reasons = at(&first, "archiveReasons")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // The counts of every column in one grouped report, then each column's first cards.
    let counts = format!(
        "report applications where job.id = {} and status = {}{} group by current_stage.id show count()",
        crate::graphql::read::literal(job_id),
        crate::graphql::read::literal(status),
        filter
            .as_ref()
            .map(|f| format!(" and {f}"))
            .unwrap_or_default()
    );
    // Two reads for the whole board: every column's count (one grouped report) and the
    // newest cards of the job (one list), split into columns here.
    let doc = format!(
        "{{ counts: report(text: {counts}) {{ rows }} \
         cards: applications(first: {MAX_CARDS}, filter: {{jobId: {job}, status: {status}}}{where_}) \
         {{ nodes {{ id appliedAt currentStage {{ id }} candidate {{ id name }} }} }} }}",
        counts = lit(&counts),
        job = lit(job_id),
        where_ = filter
            .as_ref()
            .map(|f| format!(", where: {}", lit(f)))
            .unwrap_or_default(),
    );
    let read = if stages.is_empty() {
        json!({})
    } else {
        graphql(shared, signed, &doc, json!({})).await?
    };
    let counts: Vec<(String, u64)> = at(&read, "counts.rows")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| Some((row.get(0)?.as_str()?.to_owned(), row.get(1)?.as_u64()?)))
        .collect();
    let cards = at(&read, "cards.nodes")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut columns = serde_json::Map::new();
    for (i, stage) in stages.iter().enumerate() {
        let id = text(stage, "id");
        let n = counts.iter().find(|(s, _)| *s == id).map_or(0, |(_, n)| *n);
        let nodes: Vec<Value> = cards
            .iter()
            .filter(|c| text(c, "currentStage.id") == id)
            .take(CARDS_PER_STAGE)
            .cloned()
            .collect();
        columns.insert(format!("s{i}"), json!({"totalCount": n, "nodes": nodes}));
    }
    let columns = Value::Object(columns);
    Ok(Board {
        job: at(&first, "job").clone(),
        stages,
        reasons,
        columns,
        status: status.to_owned(),
        q: query.q.trim().to_owned(),
    })
}

fn render_board(
    signed: &Signed,
    board: &Board,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let job_id = text(&board.job, "id");
    let csrf = &signed.session.csrf_token;
    let movable = board.status == "active";
    html! {
        div #board {
            h1 #board-heading tabindex="-1" { (or_hidden(&board.job, "title")) }
            p.muted { (or_hidden(&board.job, "department.name")) " · " (or_hidden(&board.job, "status")) }
            (layout::message(error, notice))
            form.inline.filters method="get" action={ "/console/jobs/" (seg(&job_id)) } role="search" {
                div {
                    label for="q" { "Candidate name" } br;
                    input #q type="search" name="q" value=(board.q) maxlength=(MAX_FILTER_CHARS);
                }
                div {
                    label for="status" { "Applications" } br;
                    select #status name="status" {
                        @for (value, label) in [("active", "Active"), ("archived", "Archived"), ("hired", "Hired")] {
                            option value=(value) selected[board.status == value] { (label) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            div.board role="region" aria-label="Pipeline, one column per stage" tabindex="0" {
                @for (i, stage) in board.stages.iter().enumerate() {
                    @let column = at(&board.columns, &format!("s{i}"));
                    @let stage_id = text(stage, "id");
                    @let heading = format!("col-{i}");
                    section.column data-stage=(stage_id) aria-labelledby=(heading) {
                        h2 id=(heading) {
                            span { (or_hidden(stage, "name")) }
                            span.count aria-label={ (text(column, "totalCount")) " applications" } { (text(column, "totalCount")) }
                        }
                        ol {
                            @for app in at(column, "nodes").as_array().into_iter().flatten() {
                                @let app_id = text(app, "id");
                                li.card data-card=(app_id) draggable=[movable.then_some("true")] {
                                    a.name href={ "/console/applications/" (seg(&app_id)) } { (or_hidden(app, "candidate.name")) }
                                    div.muted { "Applied " (text(app, "appliedAt").get(..10).unwrap_or("")) }
                                    @if movable {
                                        form data-move method="post" action={ "/console/applications/" (seg(&app_id)) "/move" }
                                            hx-post={ "/console/applications/" (seg(&app_id)) "/move" } hx-target="#board" hx-select="#board" hx-swap="outerHTML" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="job" value=(job_id);
                                            @let sel = format!("to-{app_id}");
                                            label.sr-only for=(sel) { "Move " (text(app, "candidate.name")) " to stage" }
                                            select id=(sel) name="to_stage" {
                                                @for s in &board.stages {
                                                    option value=(text(s, "id")) selected[text(s, "id") == stage_id] { (text(s, "name")) }
                                                }
                                            }
                                            button type="submit" { "Move" }
                                        }
                                        details {
                                            summary { "Archive" }
                                            form method="post" action={ "/console/applications/" (seg(&app_id)) "/archive" }
                                                hx-post={ "/console/applications/" (seg(&app_id)) "/archive" } hx-target="#board" hx-select="#board" hx-swap="outerHTML" {
                                                input type="hidden" name="csrf" value=(csrf);
                                                input type="hidden" name="job" value=(job_id);
                                                @let rsel = format!("why-{app_id}");
                                                label for=(rsel) { "Reason" }
                                                select id=(rsel) name="reason" {
                                                    @for r in &board.reasons { option value=(r) { (r) } }
                                                }
                                                button.secondary type="submit" { "Archive" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        @let total: u64 = at(column, "totalCount").as_u64().unwrap_or(0);
                        @let shown = at(column, "nodes").as_array().map_or(0, Vec::len);
                        @if total > shown as u64 {
                            p.more { "Showing the newest " (shown) " of " (total) "; filter by name to find others." }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/jobs/{id}`: the board.
pub async fn board_page(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(job): Path<String>,
    Query(query): Query<BoardQuery>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    let job = id(&job)?;
    let board = match load_board(&shared, &signed, job, &query).await {
        Ok(b) => b,
        Err(PageError::BadInput(m)) => {
            let unfiltered = load_board(&shared, &signed, job, &BoardQuery::default()).await?;
            return Ok(return_page(
                &signed,
                &unfiltered,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&m),
                None,
            ));
        }
        Err(e) => return Err(e),
    };
    Ok(return_page(&signed, &board, StatusCode::OK, None, None))
}

fn return_page(
    signed: &Signed,
    board: &Board,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let title = text(&board.job, "title");
    page_response(
        status,
        layout::page(
            signed,
            if title.is_empty() { "Board" } else { &title },
            Nav::Jobs,
            render_board(signed, board, error, notice),
        ),
    )
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    job: String,
    #[serde(default)]
    to_stage: String,
}

#[derive(Deserialize)]
pub struct ArchiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    job: String,
    #[serde(default)]
    reason: String,
}

/// After a move or an archive: the board again, with what happened. A refusal of the API is
/// shown on the board (htmx swaps it in; without scripts it is the page, with status 422 or
/// the API's).
async fn after_change(
    shared: &Arc<Shared>,
    signed: &Signed,
    headers: &HeaderMap,
    job: &str,
    outcome: Result<String, PageError>,
) -> Result<Response, PageError> {
    let job = id(job)?;
    match outcome {
        // Without scripts: back to the board (post, redirect, get); it shows the result.
        Ok(_) if !from_htmx(headers) => Ok(redirect(&format!("/console/jobs/{}", seg(job)))),
        Ok(notice) => {
            let board = load_board(shared, signed, job, &BoardQuery::default()).await?;
            Ok(return_page(
                signed,
                &board,
                StatusCode::OK,
                None,
                Some(&notice),
            ))
        }
        Err(e @ (PageError::Refused { .. } | PageError::BadInput(_))) => {
            let board = load_board(shared, signed, job, &BoardQuery::default()).await?;
            // htmx swaps only successful answers: the refusal is the board it shows.
            let status = if from_htmx(headers) {
                StatusCode::OK
            } else {
                e.status()
            };
            Ok(return_page(
                signed,
                &board,
                status,
                Some(&e.message()),
                None,
            ))
        }
        Err(e) => Err(e),
    }
}

/// `POST /console/applications/{id}/move`.
pub async fn move_application(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let app_id = id(&app_id)?.to_owned();
    let outcome = async {
        let to = id(&form.to_stage)
            .map_err(|_| PageError::BadInput("`to_stage`: choose a stage to move to".to_owned()))?;
        let data = graphql(
            &shared,
            &signed,
            &format!(
                "mutation {{ moveApplication(input: {{applicationId: {}, toStageId: {}}}) \
                 {{ id candidate {{ name }} currentStage {{ name }} }} }}",
                lit(&app_id),
                lit(to)
            ),
            json!({}),
        )
        .await?;
        Ok(format!(
            "Moved {} to {}.",
            text(&data, "moveApplication.candidate.name"),
            text(&data, "moveApplication.currentStage.name")
        ))
    }
    .await;
    after_change(&shared, &signed, &headers, &form.job, outcome).await
}

/// `POST /console/applications/{id}/archive`.
pub async fn archive_application(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Path(app_id): Path<String>,
    Form(form): Form<ArchiveForm>,
) -> Result<Response, PageError> {
    let signed = signed_in(&shared, &headers, client.map(|c| c.0.0)).await?;
    check_post(&signed, &headers, &form.csrf)?;
    let app_id = id(&app_id)?.to_owned();
    let outcome = async {
        let reason = bounded("reason", form.reason.trim(), 200)?;
        let data = graphql(
            &shared,
            &signed,
            &format!(
                "mutation {{ archiveApplication(input: {{applicationId: {}, reason: {}}}) \
                 {{ id candidate {{ name }} }} }}",
                lit(&app_id),
                lit(reason)
            ),
            json!({}),
        )
        .await?;
        Ok(format!(
            "Archived {}.",
            text(&data, "archiveApplication.candidate.name")
        ))
    }
    .await;
    after_change(&shared, &signed, &headers, &form.job, outcome).await
}
