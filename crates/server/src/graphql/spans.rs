//! Tracing spans for the API: one per operation and one per resolver that does work (the root
//! fields, which run reports and mutations, and to-many connections, which run one report per
//! parent). Fields read from an already fetched row get none: a page of 50 rows reads hundreds
//! of them, and a span each was the largest cost of a page (async-graphql's own `Tracing`
//! extension spans every object field and looks up each field's type to decide).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerResult, Value};
use tracing::Instrument;

/// The extension (registered once on the schema).
pub struct Spans;

impl ExtensionFactory for Spans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SpansExtension)
    }
}

struct SpansExtension;

/// Whether a field's resolver does work of its own (see the module doc).
fn does_work(info: &ResolveInfo<'_>) -> bool {
    info.path_node.parent.is_none() || info.return_type.contains("Connection")
}

#[async_trait::async_trait]
impl Extension for SpansExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::info_span!("graphql", operation = operation_name.unwrap_or(""));
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.is_for_introspection || !does_work(&info) {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            "resolver",
            path = %info.path_node,
            parent_type = %info.parent_type,
            return_type = %info.return_type,
        );
        let result = next.run(ctx, info).instrument(span.clone()).await;
        if let Err(e) = &result {
            span.in_scope(|| tracing::info!(error = %e.message, "resolver failed"));
        }
        result
    }
}
