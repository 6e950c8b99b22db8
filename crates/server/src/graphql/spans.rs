//! Tracing spans for the API: one per operation (made by the HTTP handler around the
//! execution, `graphql`, inside the request's span, which has the operation's name) and one per resolver that does work: the root
//! fields, which run reports and mutations, and to-many connections, which run one report per
//! parent ([`resolver`] and [`traced`], called by those resolvers). Fields read from an already
//! fetched row get none: a page of 50 rows reads hundreds of them.
//!
//! No async-graphql extension is registered: with any extension, async-graphql hands every
//! field's resolution through the extensions' `resolve` chain (a boxed future and a chain call
//! per field, even for an extension that only hooks `execute`): 3% of the server's CPU per
//! page. async-graphql's own `Tracing` extension spans every object field; a span each was the
//! largest cost of a page.

use std::future::Future;

use async_graphql::dynamic::{FieldFuture, FieldValue, ResolverContext};
use tracing::Instrument;

/// The span of the field `ctx` resolves, with its path in the response as `field` (e.g.
/// `applications` or `jobs.0.applications`; `path` is the request's URL path).
pub fn resolver(ctx: &ResolverContext<'_>) -> tracing::Span {
    match &ctx.path_node {
        Some(path) => tracing::info_span!("resolver", field = %path),
        None => tracing::info_span!("resolver", field = ctx.field().name()),
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
