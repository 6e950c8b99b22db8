//! Interview scheduling through the API: `schedulingOptions(applicationId, plan)` completes the
//! plan (the loop and the candidate's windows) with the org's calendars
//! (`app::scheduling::request_from_store`), solves it, checks every option with the independent
//! checker, and answers with the ranked options (or why none fits) as JSON, the form
//! `hireplane schedule --format json` prints. Asks `edit` on the application.

use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, TypeRef};
use policy::Action;

use super::{Code, RequestCtx, error, internal, json_value};

enum Failure {
    App(app::AppError),
    Plan(app::scheduling::PlanError),
    Request(scheduling::RequestError),
    Broken(String),
}

pub fn fields() -> Vec<Field> {
    vec![
        Field::new("schedulingOptions", TypeRef::named_nn("JSON"), |ctx| {
            FieldFuture::new(async move {
                let rc = ctx.data::<RequestCtx>()?;
                let application = ctx.args.try_get("applicationId")?.string()?.to_owned();
                let plan = ctx
                    .args
                    .try_get("plan")?
                    .as_value()
                    .clone()
                    .into_json()
                    .map_err(|e| error(Code::BadUserInput, Some("plan"), format!("`plan`: {e}")))?;
                let services = rc.services.clone();
                let access = rc.caller.access.clone();
                let now = domain::Instant::from_timestamp(jiff::Timestamp::now());
                let answer = rc
                    .db
                    .run(move |store| {
                        let org = access.viewer.org.clone();
                        services
                            .authorize(
                                store,
                                &access,
                                Action::Edit,
                                "Application",
                                &application,
                                now,
                            )
                            .map_err(Failure::App)?;
                        let request = app::scheduling::request_from_store(
                            store,
                            &org,
                            &application,
                            plan,
                            now,
                        )
                        .map_err(Failure::Plan)?;
                        let solution = scheduling::solve(&request).map_err(Failure::Request)?;
                        for option in solution.options() {
                            if let Err(v) = scheduling::check(&request, option) {
                                let list: Vec<String> = v.iter().map(ToString::to_string).collect();
                                return Err(Failure::Broken(list.join("; ")));
                            }
                        }
                        serde_json::to_value(&solution).map_err(|e| Failure::Broken(e.to_string()))
                    })
                    .await
                    .map_err(|e| internal("reaching the database", e))?;
                match answer {
                    Ok(v) => Ok(Some(FieldValue::value(json_value(v)))),
                    Err(Failure::App(app::AppError::NoSuchEntity { ty, id, .. })) => Err(error(
                        Code::NotFound,
                        Some("applicationId"),
                        format!("no {ty} `{id}` (or the caller may not see it)"),
                    )),
                    Err(Failure::App(e @ app::AppError::Forbidden { .. })) => {
                        Err(error(Code::Forbidden, None, e.to_string()))
                    }
                    Err(Failure::App(e)) => Err(internal("scheduling", e)),
                    Err(Failure::Plan(app::scheduling::PlanError::Store(e))) => {
                        Err(internal("scheduling", e))
                    }
                    Err(Failure::Plan(e)) => {
                        Err(error(Code::BadUserInput, Some("plan"), e.to_string()))
                    }
                    Err(Failure::Request(e)) => {
                        Err(error(Code::BadUserInput, Some("plan"), e.to_string()))
                    }
                    Err(Failure::Broken(e)) => Err(internal("checking the options", e)),
                }
            })
        })
        .argument(InputValue::new(
            "applicationId",
            TypeRef::named_nn(TypeRef::ID),
        ))
        .argument(
            InputValue::new("plan", TypeRef::named_nn("JSON")).description(
                "The loop and the candidate's windows: a scheduling request without `interviewers` \
             and `pools` (see crates/scheduling/examples); the org's calendars fill the rest",
            ),
        )
        .description(
            "The earliest interview loops that fit everyone for an application, ranked, each \
             checked by an independent checker; or why none fits",
        ),
    ]
}
