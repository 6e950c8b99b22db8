//! Identifiers: non-empty strings, unique per entity within an org.

use std::fmt;

/// The longest id accepted, in bytes. Ids are keys in every index of the store; a bound keeps them cheap.
pub const MAX_ID_LEN: usize = 200;

/// An id of a record of the interchange format: non-empty, at most [`MAX_ID_LEN`] bytes,
/// no control characters and no surrounding whitespace.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(Box<str>);

/// Why a string is not an [`Id`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id must not be empty")]
    Empty,
    #[error("an id must be at most {MAX_ID_LEN} bytes, this one has {0}")]
    TooLong(usize),
    #[error("an id must not contain control characters or surrounding whitespace")]
    BadCharacter,
}

impl Id {
    pub fn parse(s: impl Into<String>) -> Result<Id, IdError> {
        let s: String = s.into();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > MAX_ID_LEN {
            return Err(IdError::TooLong(s.len()));
        }
        if s.chars().any(char::is_control) || s.trim() != s {
            return Err(IdError::BadCharacter);
        }
        Ok(Id(s.into_boxed_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_non_empty_and_clean() {
        assert_eq!(Id::parse("acme_app_1").unwrap().as_str(), "acme_app_1");
        assert_eq!(Id::parse(""), Err(IdError::Empty));
        assert_eq!(Id::parse(" x"), Err(IdError::BadCharacter));
        assert_eq!(Id::parse("a\nb"), Err(IdError::BadCharacter));
        assert_eq!(Id::parse("x".repeat(201)), Err(IdError::TooLong(201)));
        assert!(Id::parse("名前-ü").is_ok());
    }
}
