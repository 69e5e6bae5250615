//! Durations in human form (`"250ms"`, `"5s"`, `"2m"`) in serialized data,
//! and the "a scalar or a map" shape several policies share.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serializer};

/// JSON Schema stand-in for a human-readable duration string.
#[derive(JsonSchema)]
#[schemars(
    transparent,
    description = "A duration such as \"250ms\", \"5s\", \"2m\" or \"1h 30m\".",
    extend("pattern" = "^\\s*[0-9]+\\s*[a-zA-Zµ]+(\\s*[0-9]+\\s*[a-zA-Zµ]+)*\\s*$")
)]
pub(crate) struct HumanDuration(#[allow(dead_code)] String);

/// Parses `"5s"`, `"250ms"`, `"1h 30m"`.
pub(crate) fn parse(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// Formats a duration the way [`parse`] reads it back.
pub(crate) fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    humantime::format_duration(d).to_string()
}

/// `#[serde(with = "duration::human")]` for a plain [`Duration`].
pub(crate) mod human {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(de::Error::custom)
    }
}

/// `#[serde(with = "duration::human_opt")]` for an `Option<Duration>`.
pub(crate) mod human_opt {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&format(*d)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => parse(&s).map(Some).map_err(de::Error::custom),
            None => Ok(None),
        }
    }
}

/// Deserializes a value written either as a scalar string (parsed by
/// `from_str`) or as a map (deserialized as `M`, then converted by `from_map`).
pub(crate) fn str_or_map<'de, D, T, M>(
    d: D,
    expecting: &'static str,
    from_str: fn(&str) -> Result<T, String>,
    from_map: fn(M) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de>,
{
    struct StrOrMap<T, M> {
        expecting: &'static str,
        from_str: fn(&str) -> Result<T, String>,
        from_map: fn(M) -> Result<T, String>,
        marker: PhantomData<M>,
    }

    impl<'de, T, M: Deserialize<'de>> Visitor<'de> for StrOrMap<T, M> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.from_str)(v).map_err(E::custom)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let m = M::deserialize(de::value::MapAccessDeserializer::new(map))?;
            (self.from_map)(m).map_err(de::Error::custom)
        }
    }

    d.deserialize_any(StrOrMap {
        expecting,
        from_str,
        from_map,
        marker: PhantomData,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_what_it_parses() {
        for s in ["0s", "250ms", "5s", "2m", "1h 30m", "1s 500ms"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }

    #[test]
    fn rejects_garbage_with_the_input_named() {
        let err = parse("5 parsecs").unwrap_err();
        assert!(err.starts_with("invalid duration \"5 parsecs\""), "{err}");
    }
}
