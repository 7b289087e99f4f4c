//! The JSON line format. Written here rather than using `fmt::layer().json()` because that one
//! omits `message` on events that have none (sqlx's query events) and nests span fields; ours
//! guarantees `timestamp`, `level`, `target` and `message` on every line and flattens the fields
//! of the enclosing spans (so every line of a request carries its `request_id`).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One JSON object per event.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut line = Map::new();
        line.insert("timestamp".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        line.insert("target".into(), event.metadata().target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    merge_span_fields(&mut line, fields.as_str());
                }
            }
        }
        let mut visitor = Collect(Map::new());
        event.record(&mut visitor);
        let mut fields = visitor.0;
        let message = fields.remove("message").or_else(|| fields.get("summary").cloned()).unwrap_or_else(|| "".into());
        line.insert("message".into(), message);
        line.extend(fields);
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Span fields are stored pre-formatted by `JsonFields` as a JSON object string.
fn merge_span_fields(line: &mut Map<String, Value>, formatted: &str) {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(formatted) {
        line.extend(map);
    }
}

struct Collect(Map<String, Value>);

impl Visit for Collect {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}
