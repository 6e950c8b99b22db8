//! Tracing spans for the API: one per operation (the [`Spans`] extension) and one per resolver
//! that does work: the root fields, which run reports and mutations, and to-many connections,
//! which run one report per parent ([`resolver`] and [`traced`], called by those resolvers).
//! Fields read from an already fetched row get none: a page of 50 rows reads hundreds of them.
//! The extension does not hook field resolution at all: async-graphql then calls every field's
//! resolver directly, where a `resolve` hook costs a boxed future and a chain call per field
//! (async-graphql's own `Tracing` extension spans every object field; a span each was the
//! largest cost of a page, and the hook alone, deciding per field, was 6% of the server's
//! instructions per page).

use std::future::Future;
use std::sync::Arc;

use async_graphql::Response;
use async_graphql::dynamic::{FieldFuture, FieldValue, ResolverContext};
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use tracing::Instrument;

/// The extension (registered once on the schema): the operation's span.
pub struct Spans;

impl ExtensionFactory for Spans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SpansExtension)
    }
}

struct SpansExtension;

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
}

/// The span of the field `ctx` resolves (its path in the response, e.g. `applications` or
/// `jobs.0.applications`).
pub fn resolver(ctx: &ResolverContext<'_>) -> tracing::Span {
    match &ctx.path_node {
        Some(path) => tracing::info_span!("resolver", path = %path),
        None => tracing::info_span!("resolver", path = ctx.field().name()),
    }
}

/// A resolver's work in its span; a failure is logged in it.
pub fn traced<'a, F>(span: tracing::Span, work: F) -> FieldFuture<'a>
where
    F: Future<Output = async_graphql::Result<Option<FieldValue<'a>>>> + Send + 'a,
{
    FieldFuture::new(async move {
        let result = work.instrument(span.clone()).await;
        if let Err(e) = &result {
            span.in_scope(|| tracing::info!(error = %e.message, "resolver failed"));
        }
        result
    })
}
