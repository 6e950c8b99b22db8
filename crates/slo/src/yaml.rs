//! The small YAML tree the spec is read from: mappings, sequences and scalars, each with the
//! line and column where it starts, built from `saphyr-parser`'s events.
//!
//! Scalars keep their source text (no type resolution), so `99.9` stays exactly `99.9` and
//! `objective` never suffers binary floating point. Duplicate keys, anchors, aliases, tags and
//! multiple documents are refused: a spec has no use for them and each is a likely mistake.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::error::{Location, SloError, SloErrorKind};

/// A YAML node and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) at: Location,
    pub(crate) value: Value,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A scalar's text; `plain` is false for quoted and block scalars (`"..."`, `|`).
    Scalar {
        text: String,
        plain: bool,
    },
    Sequence(Vec<Node>),
    /// Keys are scalars; their order is the file's.
    Mapping(Vec<(Key, Node)>),
}

/// A mapping key and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) at: Location,
    pub(crate) name: String,
}

impl Node {
    /// What kind of node this is, for "must be a ..., got a ..." errors.
    pub(crate) fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { text, plain } if *plain && is_null(text) => "null",
            Value::Scalar { .. } => "scalar",
            Value::Sequence(_) => "list",
            Value::Mapping(_) => "mapping",
        }
    }

    /// True for an empty value, `~` or `null` written plain.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if is_null(text))
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Parses one YAML document into a tree. An empty input is an empty mapping's absence: an error.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Node, SloError> {
    let mut events = Events {
        parser: Parser::new_from_str(text),
        origin,
        last: Location::new(origin, 1, 1),
    };
    // StreamStart, DocumentStart, the root node, DocumentEnd, StreamEnd.
    let mut root = None;
    loop {
        let (event, at) = events.next()?;
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            _ if root.is_some() => {
                return Err(SloError::new(at, SloErrorKind::MultipleDocuments));
            }
            event => root = Some(events.node(event, at)?),
        }
    }
    root.ok_or_else(|| SloError::new(Location::new(origin, 1, 1), SloErrorKind::Empty))
}

struct Events<'input, 'o> {
    parser: Parser<'input, saphyr_parser::StrInput<'input>>,
    origin: &'o str,
    last: Location,
}

impl<'input> Events<'input, '_> {
    fn location(&self, span: Span) -> Location {
        // saphyr's lines are 1-based and its columns 0-based; editors count both from 1.
        Location::new(self.origin, span.start.line(), span.start.col() + 1)
    }

    fn next(&mut self) -> Result<(Event<'input>, Location), SloError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                let at = self.location(span);
                self.last = at.clone();
                Ok((event, at))
            }
            Some(Err(e)) => {
                let m = e.marker();
                Err(SloError::new(
                    Location::new(self.origin, m.line(), m.col() + 1),
                    SloErrorKind::Syntax {
                        message: e.info().to_owned(),
                    },
                ))
            }
            None => Err(SloError::new(
                self.last.clone(),
                SloErrorKind::Syntax {
                    message: "unexpected end of input".to_owned(),
                },
            )),
        }
    }

    fn node(&mut self, event: Event<'input>, at: Location) -> Result<Node, SloError> {
        let value = match event {
            Event::Scalar(text, style, anchor, tag) => {
                refuse_anchor_or_tag(anchor, tag.is_some(), &at)?;
                Value::Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                }
            }
            Event::SequenceStart(anchor, tag) => {
                refuse_anchor_or_tag(anchor, tag.is_some(), &at)?;
                let mut items = Vec::new();
                loop {
                    let (event, item_at) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, item_at)?);
                }
                Value::Sequence(items)
            }
            Event::MappingStart(anchor, tag) => {
                refuse_anchor_or_tag(anchor, tag.is_some(), &at)?;
                let mut entries: Vec<(Key, Node)> = Vec::new();
                loop {
                    let (event, key_at) = self.next()?;
                    let name = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(name, _, anchor, tag) => {
                            refuse_anchor_or_tag(anchor, tag.is_some(), &key_at)?;
                            name
                        }
                        _ => return Err(SloError::new(key_at, SloErrorKind::ComplexKey)),
                    };
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                        return Err(SloError::new(
                            key_at,
                            SloErrorKind::DuplicateKey {
                                key: name.into_owned(),
                                first_line: first.at.line,
                            },
                        ));
                    }
                    let (event, value_at) = self.next()?;
                    let value = self.node(event, value_at)?;
                    entries.push((
                        Key {
                            at: key_at,
                            name: Cow::into_owned(name),
                        },
                        value,
                    ));
                }
                Value::Mapping(entries)
            }
            Event::Alias(_) => return Err(SloError::new(at, SloErrorKind::AnchorOrTag)),
            _ => {
                return Err(SloError::new(
                    at,
                    SloErrorKind::Syntax {
                        message: "unexpected YAML event".to_owned(),
                    },
                ));
            }
        };
        Ok(Node { at, value })
    }
}

fn refuse_anchor_or_tag(anchor: usize, tagged: bool, at: &Location) -> Result<(), SloError> {
    if anchor != 0 || tagged {
        return Err(SloError::new(at.clone(), SloErrorKind::AnchorOrTag));
    }
    Ok(())
}
