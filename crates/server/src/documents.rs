//! The parsed-document cache: a client sends the same few query texts again and again (an app's
//! queries differ in their variables, not their text), and parsing one is about 9% of the
//! server's work for a page of 50 applications (pest, in async-graphql's parser). A query text
//! seen recently is executed from a copy of its parsed document; validation (depth,
//! complexity, the schema's rules) still runs on every request, as do the policies.
//!
//! A text is kept the second time it is parsed (a table of [`DOORKEEPER`] hashes remembers the
//! texts seen once): a client that writes its arguments into the text (`after: "..."`) sends a
//! new text every time, and copying each into the cache would cost more than it saves.
//!
//! Bounded: at most [`CAPACITY`] texts in each of two generations, texts longer than
//! [`LONGEST`] are not kept, and a failed parse is not kept. When the current generation is full
//! it becomes the previous one and the older one is dropped; a text found in the previous
//! generation moves back into the current. So what is used keeps its place and a flood of
//! one-off texts costs at most two generations of memory: an LRU's behaviour without a list to
//! keep in order on every hit. (Apollo Server and graphql-java keep such a cache for the same
//! reason; async-graphql offers the hook, `Request::set_parsed_query`, but not the cache.)

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_graphql::parser::types::ExecutableDocument;

/// Query texts per generation.
pub const CAPACITY: usize = 256;
/// The longest query text kept, in bytes.
pub const LONGEST: usize = 16 * 1024;
/// Slots of the table of texts parsed once.
pub const DOORKEEPER: usize = 1024;

type Generation = HashMap<Box<str>, Arc<Kept>>;

/// A kept document, and once async-graphql has executed it without an error, its direct plan
/// (`None` inside: it has none, [`crate::graphql::direct`]).
pub struct Kept {
    pub doc: ExecutableDocument,
    pub direct: OnceLock<Option<Arc<crate::graphql::direct::Plan>>>,
}

/// A parsed document: kept, or parsed for this request only.
pub enum Parsed {
    Kept(Arc<Kept>),
    Fresh(ExecutableDocument),
}

impl Parsed {
    pub fn doc(&self) -> &ExecutableDocument {
        match self {
            Parsed::Kept(k) => &k.doc,
            Parsed::Fresh(d) => d,
        }
    }

    /// The document for async-graphql to execute: a copy of a kept one.
    pub fn into_doc(self) -> ExecutableDocument {
        match self {
            Parsed::Kept(k) => k.doc.clone(),
            Parsed::Fresh(d) => d,
        }
    }
}

/// Parsed documents by query text.
pub struct Documents {
    generations: Mutex<(Generation, Generation)>,
    /// The hash of the last text parsed once, per slot (`hash % DOORKEEPER`).
    seen: Mutex<Vec<u64>>,
    hasher: RandomState,
}

impl Default for Documents {
    fn default() -> Documents {
        Documents {
            generations: Mutex::default(),
            seen: Mutex::new(vec![0; DOORKEEPER]),
            hasher: RandomState::new(),
        }
    }
}

impl Documents {
    /// The parsed document of `query`: a copy of the kept one, or parsed now (and kept).
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        self.parse_kept(query).map(Parsed::into_doc)
    }

    /// The parsed document of `query`: the kept one, or parsed now (and kept).
    pub fn parse_kept(&self, query: &str) -> Result<Parsed, async_graphql::parser::Error> {
        if let Some(kept) = self.get(query) {
            metrics::counter!("hireplane_api_documents_total", "outcome" => "cached").increment(1);
            return Ok(Parsed::Kept(kept));
        }
        let doc = async_graphql::parser::parse_query(query)?;
        metrics::counter!("hireplane_api_documents_total", "outcome" => "parsed").increment(1);
        // A text with NUL in a literal is refused on every request ([`crate::nul`]): never
        // kept, so a kept text needs no second look.
        if query.len() <= LONGEST
            && crate::nul::in_document(&doc).is_none()
            && self.seen_before(query)
        {
            let kept = Arc::new(Kept {
                doc,
                direct: OnceLock::new(),
            });
            self.keep(query, kept.clone());
            return Ok(Parsed::Kept(kept));
        }
        Ok(Parsed::Fresh(doc))
    }

    /// Whether `query` was parsed before (as far as its slot remembers); remembers it if not.
    fn seen_before(&self, query: &str) -> bool {
        let hash = self.hasher.hash_one(query);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(slot) = seen.get_mut((hash % DOORKEEPER as u64) as usize) else {
            return false;
        };
        let before = *slot == hash;
        *slot = hash;
        before
    }

    /// How many texts are kept, in both generations.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.0.len() + g.1.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Generation, Generation)> {
        // The maps are whole after any panic (inserts and removes do not unwind halfway).
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, query: &str) -> Option<Arc<Kept>> {
        let mut g = self.lock();
        if let Some(doc) = g.0.get(query) {
            return Some(doc.clone());
        }
        let (text, doc) = g.1.remove_entry(query)?;
        Self::insert(&mut g, text, doc.clone());
        Some(doc)
    }

    fn keep(&self, query: &str, doc: Arc<Kept>) {
        let mut g = self.lock();
        Self::insert(&mut g, query.into(), doc);
    }

    fn insert(g: &mut (Generation, Generation), text: Box<str>, doc: Arc<Kept>) {
        if g.0.len() >= CAPACITY {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(text, doc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(i: usize) -> String {
        format!("{{ applications(first: {i}) {{ nodes {{ id }} }} }}")
    }

    #[test]
    fn a_kept_document_is_the_parsed_one() {
        let docs = Documents::default();
        let q = "query Page($after: String) { applications(first: 50, after: $after) { nodes { id candidate { name } } } }";
        let first = docs.parse(q).unwrap();
        assert_eq!(docs.len(), 0, "kept the first time it was seen");
        let second = docs.parse(q).unwrap();
        assert_eq!(docs.len(), 1);
        let again = docs.parse(q).unwrap();
        assert!(docs.get(q).is_some());
        assert_eq!(docs.len(), 1);
        assert_eq!(format!("{second:?}"), format!("{first:?}"));
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        assert_eq!(
            format!("{again:?}"),
            format!("{:?}", async_graphql::parser::parse_query(q).unwrap())
        );
    }

    #[test]
    fn bad_and_long_texts_are_not_kept() {
        let docs = Documents::default();
        let err = docs.parse("{ applications(first: ) }").unwrap_err();
        assert!(err.to_string().contains("1:"), "{err}");
        docs.parse("{ applications(first: ) }").unwrap_err();
        let long = format!("{{ __typename {} }}", " ".repeat(LONGEST));
        docs.parse(&long).unwrap();
        docs.parse(&long).unwrap();
        assert!(docs.is_empty());
    }

    #[test]
    fn one_off_texts_are_not_kept() {
        let docs = Documents::default();
        for i in 0..3 * DOORKEEPER {
            docs.parse(&query(i)).unwrap();
        }
        // At most the texts whose slot another text had by chance the same hash in: none.
        assert!(docs.is_empty(), "{} kept", docs.len());
    }

    #[test]
    fn memory_is_bounded_and_what_is_used_stays() {
        let docs = Documents::default();
        let hot = query(0);
        docs.parse(&hot).unwrap();
        for i in 1..=5 * CAPACITY {
            // Twice: kept.
            docs.parse(&query(i)).unwrap();
            docs.parse(&query(i)).unwrap();
            if i % 100 == 0 {
                docs.parse(&hot).unwrap();
            }
            assert!(docs.len() <= 2 * CAPACITY);
        }
        // Used every 100 texts, fewer than a generation: never dropped.
        assert!(docs.get(&hot).is_some());
        // Used once, 5 generations ago: dropped.
        assert!(docs.get(&query(1)).is_none());
        assert!(docs.get(&query(5 * CAPACITY)).is_some());
    }
}
