//! The field paths of the store's refusals in the names of the commands' inputs (the API's
//! names, which the CLI's flags mirror): `to_stage_id` → `toStageId`, an offer's
//! `salary.amount` → `terms.salary`. Every edge shows a command's refusal with the same field
//! and the same message, so the renaming is done once, here, when a store refusal becomes an
//! [`crate::AppError`].

use store::WriteError;

/// The fields store commands name that the inputs take in another shape, and the input that
/// holds them there (in the store's spelling; [`camel_path`] follows): an offer's terms are
/// one `terms` object; `addStage` takes the stage's fields flat; a scorecard's author and time
/// are the caller and now, so what is wrong with them is about the interview; a booked loop's
/// interviews come from its `option`, except the application and stage it names itself. Each
/// store name here is used by those commands only.
const API_SHAPES: &[(&str, &str)] = &[
    ("salary.amount", "terms.salary"),
    ("salary.currency", "terms.salary_currency"),
    ("salary.period", "terms.salary_period"),
    ("bonus", "terms.bonus"),
    ("equity", "terms.equity"),
    ("start_date", "terms.start_date"),
    ("stage.name", "name"),
    ("author_id", "interview_id"),
    ("submitted_at", "interview_id"),
    ("credited_to_user_id", "credited_to_id"),
];

/// A store path as the inputs spell it: moved per [`API_SHAPES`], then camel-cased.
pub fn api_path(path: &str) -> String {
    if let Some((_, api)) = API_SHAPES.iter().find(|(store, _)| *store == path) {
        return camel_path(api);
    }
    // A new interview's participants, which the store calls `interviewers`.
    if let Some(rest) = path.strip_prefix("interviewers") {
        return camel_path(&format!("interview_participants{rest}"));
    }
    // `interviews[N].…` of a booked loop.
    if let Some(rest) = path
        .strip_prefix("interviews[")
        .and_then(|r| r.split_once("]."))
        .map(|(_, rest)| rest)
    {
        return match rest {
            "application_id" => "applicationId".to_owned(),
            "stage_id" => "stageId".to_owned(),
            _ => "option".to_owned(),
        };
    }
    camel_path(path)
}

/// `employment_type` → `employmentType`.
pub fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut up = false;
    for c in snake.chars() {
        if c == '_' || c == ' ' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A store path in the inputs' names: `to_stage_id` → `toStageId`, also inside
/// `interviews[1].stage_id`. The keys of a map the caller gave are the caller's own and stay as
/// they are: the store writes them as JSON strings in brackets (`scores["system_design"]`,
/// `custom_fields["years_at_company"]` → `customFields["years_at_company"]`,
/// [`store::map_entry_path`]), so only what lies outside quotes is renamed.
pub fn camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut name = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            name.push(c);
            continue;
        }
        // A quoted key: copied as it is, up to its closing quote (`\"` does not close it).
        out.push_str(&camel(&name));
        name.clear();
        out.push(c);
        let mut escaped = false;
        for k in chars.by_ref() {
            out.push(k);
            match k {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => break,
                _ => escaped = false,
            }
        }
    }
    out.push_str(&camel(&name));
    out
}

/// A refusal's message with its field in the inputs' names: the store's messages start with
/// the field in backticks (`` `custom_fields["level"]`: ... ``).
pub fn api_message(e: &WriteError) -> String {
    let message = e.to_string();
    if let Some(field) = e.field()
        && let Some(tail) = message.strip_prefix(&format!("`{field}`"))
    {
        return format!("`{}`{tail}", api_path(field));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_fields_of_another_shape_name_the_inputs() {
        for (store, api) in [
            ("salary.amount", "terms.salary"),
            ("salary.currency", "terms.salaryCurrency"),
            ("bonus", "terms.bonus"),
            ("start_date", "terms.startDate"),
            ("stage.name", "name"),
            ("author_id", "interviewId"),
            ("interviews[0].application_id", "applicationId"),
            ("interviews[2].stage_id", "stageId"),
            ("interviews[1].interviewers[0].user_id", "option"),
            ("interviews[1].ends_at", "option"),
            // Everything else: camel-cased as it is.
            ("to_stage_id", "toStageId"),
            (r#"scores["system_design"]"#, r#"scores["system_design"]"#),
        ] {
            assert_eq!(api_path(store), api, "{store}");
        }
    }

    #[test]
    fn paths_camel_case_names_and_keep_map_keys() {
        for (store, api) in [
            ("to_stage_id", "toStageId"),
            ("stages[0].name", "stages[0].name"),
            ("interviews[1].stage_id", "interviews[1].stageId"),
            (r#"scores["system_design"]"#, r#"scores["system_design"]"#),
            (
                r#"custom_fields["years_at_company"]"#,
                r#"customFields["years_at_company"]"#,
            ),
            (
                r#"interviews[1].custom_fields["a_b"].x_y"#,
                r#"interviews[1].customFields["a_b"].xY"#,
            ),
            // A key may hold anything, quotes and brackets too (JSON escapes).
            (
                r#"scores["say \"a_b\"]"].to_x"#,
                r#"scores["say \"a_b\"]"].toX"#,
            ),
        ] {
            assert_eq!(camel_path(store), api, "{store}");
        }
    }

    #[test]
    fn messages_name_the_field_as_the_inputs_spell_it() {
        let e = WriteError::Invalid {
            field: r#"custom_fields["years_at_company"]"#.to_owned(),
            message: "expected a number, got `x`".to_owned(),
        };
        assert_eq!(
            api_message(&e),
            r#"`customFields["years_at_company"]`: expected a number, got `x`"#
        );
        let e = WriteError::Conflict {
            field: "feedback_id".to_owned(),
            message: "interview `iv_1` was cancelled".to_owned(),
        };
        assert_eq!(
            api_message(&e),
            "`feedbackId`: interview `iv_1` was cancelled"
        );
    }
}
