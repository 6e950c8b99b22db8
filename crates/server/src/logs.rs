//! The log: `tracing` events as JSON lines (`log_format = "json"`, the default) or text.
//!
//! A JSON line is one object: `timestamp` (RFC 3339, UTC, microseconds), `level`, `target`,
//! `message`, `request_id` (in a request), then the fields of every span the event happened in,
//! outermost first, then the event's own fields (an inner span's field, and the event's, win
//! over an outer one of the same name). So every line logged while a request is served carries the request span's
//! `request_id`, `method` and `path` at the top level, also a resolver's error deep inside the
//! GraphQL execution, and a collector can follow a request with one filter on `request_id`.
//!
//! Each request answered ends with one line `"message": "request"` at `info`, which adds `status`
//! and `duration_ms` ([`crate::http`] makes the span and that line).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::settings::{LogFormat, Settings};

/// Sets up logging to stderr as the settings say (JSON lines or text, with the level filter);
/// once per process (later calls change nothing).
pub fn init_logging(settings: &Settings) {
    init_logging_with(settings, std::io::stderr);
}

/// [`init_logging`] to `writer` (a test's buffer).
pub fn init_logging_with<W>(settings: &Settings, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// The JSON line format described in the module's doc. Span fields are kept by
/// [`JsonFields`] as a JSON object in each span's extensions.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(format!("{:.6}", jiff::Timestamp::now())),
        );
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(formatted) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&formatted.fields) {
                    fields.extend(map);
                }
            }
        }
        let mut visitor = EventFields(Vec::new());
        event.record(&mut visitor);
        fields.extend(visitor.0);
        // `message`, then `request_id`, first; no field replaces the three above.
        for name in ["message", "request_id"] {
            if let Some(value) = fields.get(name) {
                line.insert(name.to_owned(), value.clone());
            }
        }
        for (name, value) in fields {
            if !line.contains_key(&name) {
                line.insert(name, value);
            }
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values, in the order they were given.
struct EventFields(Vec<(String, Value)>);

impl EventFields {
    fn add(&mut self, field: &Field, value: Value) {
        self.0.push((field.name().to_owned(), value));
    }
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.add(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, Value::Bool(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.add(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.add(field, Value::String(format!("{value:?}")));
    }
}
