//! Serialized types declared in Python (`horus.schema`, `horus.enum_schema`,
//! `horus.option`, `horus.seq`): a [`SchemaType`] built from field specs and
//! returned as [`Schema::encode`] bytes, identical to what the
//! `postcard_schema` derive gives the Rust type of the same names and
//! shape (so a Python-declared `Plan` joins the Rust program's topic).
//!
//! A spec is a type name (`"u8"` ... `"u128"`, `"i8"` ... `"i128"`,
//! `"f32"`, `"f64"`, `"bool"`, `"char"`, `"str"`/`"String"`, `"bytes"`,
//! `"()"`), `"[T]"` (a sequence), `"T?"` (an option), a one-item list `[spec]`
//! (a sequence), or a declared schema (its `.encoded` bytes: a nested struct
//! or enum, or `horus.option`/`horus.seq` of one).

use horus::serialized::{MAX_DEPTH, NamedField, Schema, SchemaType, Variant, VariantKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::horus_err;

/// The type a primitive name or `[T]`/`T?` string means (`None` if it
/// names none). The wrappers are peeled in a loop, not by recursion, and
/// counted: a spec nesting deeper than [`MAX_DEPTH`] is refused as the
/// topic would refuse it.
fn parse_type(s: &str, what: &str, depth: usize) -> PyResult<Option<SchemaType>> {
    use SchemaType as S;
    let mut s = s.trim();
    let mut wrappers = Vec::new();
    loop {
        if let Some(inner) = s.strip_suffix('?') {
            wrappers.push(true);
            s = inner.trim();
        } else if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            wrappers.push(false);
            s = inner.trim();
        } else {
            break;
        }
        if depth + wrappers.len() >= MAX_DEPTH {
            return Err(too_deep(what));
        }
    }
    let mut ty = match s {
        "bool" => S::Bool,
        "i8" => S::I8,
        "u8" => S::U8,
        "i16" => S::I16,
        "u16" => S::U16,
        "i32" => S::I32,
        "u32" => S::U32,
        "i64" => S::I64,
        "u64" => S::U64,
        "i128" => S::I128,
        "u128" => S::U128,
        "f32" => S::F32,
        "f64" => S::F64,
        "char" => S::Char,
        "str" | "String" => S::String,
        "bytes" => S::Bytes,
        "()" => S::Unit,
        _ => return Ok(None),
    };
    for option in wrappers.into_iter().rev() {
        ty = if option {
            S::Option(Box::new(ty))
        } else {
            S::Seq(Box::new(ty))
        };
    }
    Ok(Some(ty))
}

fn too_deep(what: &str) -> PyErr {
    horus_err(format!(
        "{what}: the type nests deeper than {MAX_DEPTH} levels (a list that contains \
         itself?); a serialized type nests at most {MAX_DEPTH} types deep"
    ))
}

/// The type of one spec (see the module docs), `depth` types deep (a
/// struct's field is 1 deep: the depth a topic's schema check counts);
/// `what` names it in errors.
fn spec_type(spec: &Bound<'_, PyAny>, what: &str, depth: usize) -> PyResult<SchemaType> {
    if depth >= MAX_DEPTH {
        return Err(too_deep(what));
    }
    if let Ok(s) = spec.extract::<String>() {
        return parse_type(&s, what, depth)?.ok_or_else(|| {
            horus_err(format!(
                "{what}: unknown type {s:?}: use bool, i8..i128, u8..u128, f32, f64, char, str, \
                 bytes, \"[T]\" for a list, \"T?\" for an optional value, or a declared schema"
            ))
        });
    }
    if let Ok(l) = spec.cast::<PyList>()
        && l.len() == 1
    {
        let inner = spec_type(&l.get_item(0)?, what, depth + 1)?;
        return Ok(SchemaType::Seq(Box::new(inner)));
    }
    if let Ok(enc) = spec.getattr("encoded")
        && let Ok(bytes) = enc.extract::<Vec<u8>>()
    {
        return Ok(Schema::decode(&bytes).map_err(horus_err)?.ty);
    }
    Err(horus_err(format!(
        "{what}: a type is a name (\"f32\", \"[str]\", \"u8?\"), a one-item list or a \
         declared schema, not {}",
        spec.repr()?
    )))
}

fn named_fields(fields: &Bound<'_, PyDict>, owner: &str) -> PyResult<Vec<NamedField>> {
    fields
        .iter()
        .map(|(k, v)| {
            let name: String = k.extract()?;
            let ty = spec_type(&v, &format!("{owner}.{name}"), 1)?;
            Ok(NamedField { name, ty })
        })
        .collect()
}

/// The encoded schema of a declared type: `kind` is `"struct"` (`spec` a
/// dict of fields), `"enum"` (`spec` a dict of variants: `None` unit, a
/// dict a struct variant, a tuple a tuple variant, else one value),
/// `"option"` or `"seq"` (`spec` one type).
#[pyfunction]
pub fn schema_encode(kind: &str, name: &str, spec: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let is_ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if matches!(kind, "struct" | "enum") && !is_ident {
        return Err(horus_err(format!(
            "a serialized type's name is the Rust type's, an identifier (letters, digits and _, \
             not starting with a digit), not {name:?}"
        )));
    }
    let ty = match kind {
        "struct" => SchemaType::Struct(name.to_owned(), named_fields(spec.cast()?, name)?),
        "enum" => {
            let mut variants = Vec::new();
            for (k, v) in spec.cast::<PyDict>()?.iter() {
                let vname: String = k.extract()?;
                let what = format!("{name}::{vname}");
                let kind = if v.is_none() {
                    VariantKind::Unit
                } else if let Ok(d) = v.cast::<PyDict>() {
                    VariantKind::Struct(named_fields(d, &what)?)
                } else if let Ok(t) = v.cast::<PyTuple>() {
                    let types = t.iter().map(|x| spec_type(&x, &what, 1));
                    VariantKind::Tuple(types.collect::<PyResult<_>>()?)
                } else {
                    VariantKind::Newtype(spec_type(&v, &what, 1)?)
                };
                variants.push(Variant { name: vname, kind });
            }
            SchemaType::Enum(name.to_owned(), variants)
        }
        "option" => SchemaType::Option(Box::new(spec_type(spec, name, 1)?)),
        "seq" => SchemaType::Seq(Box::new(spec_type(spec, name, 1)?)),
        other => return Err(horus_err(format!("unknown schema kind {other:?}"))),
    };
    Ok(Schema {
        name: name.to_owned(),
        ty,
    }
    .encode())
}
