//! JSON values ↔ Python objects. Dicts, lists, str, int, float, bool, None.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Python → JSON. `path` names where a wrong type sits (never the value).
pub fn from_py(obj: &Bound<'_, PyAny>, path: &str) -> Result<Value, ory_iam::Error> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract::<bool>().unwrap_or(false)));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(ory_iam::Error::invalid_field(path, "integer out of range"));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract().unwrap_or(f64::NAN);
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| ory_iam::Error::invalid_field(path, "must be a finite number"));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(|s| Value::String(s.to_owned()))
            .map_err(|_| ory_iam::Error::invalid_field(path, "is not valid UTF-8"));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.extract::<String>() else {
                return Err(ory_iam::Error::invalid_field(path, "dict keys must be strings"));
            };
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            let v = from_py(&v, &child)?;
            m.insert(key, v);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, x) in obj.try_iter().map_err(|_| ory_iam::Error::invalid_field(path, "is not iterable"))?.enumerate() {
            let x = x.map_err(|_| ory_iam::Error::invalid_field(path, "could not be read"))?;
            out.push(from_py(&x, &format!("{path}[{i}]"))?);
        }
        return Ok(Value::Array(out));
    }
    // Mappings that are not dicts (e.g. a user's TypedDict subclass is a dict; a Pydantic model
    // is not): accept anything with `to_dict()` or `model_dump()`.
    for m in ["to_dict", "model_dump"] {
        if obj.hasattr(m).unwrap_or(false) {
            if let Ok(d) = obj.call_method0(m) {
                return from_py(&d, path);
            }
        }
    }
    Err(ory_iam::Error::invalid_field(if path.is_empty() { "<argument>" } else { path }, "has an unsupported type"))
}

/// For optional typed scalar arguments (a page size, a flag): `None` stays `None`; a value of
/// the wrong type (or out of range) is a validation error naming the argument, never TypeError.
pub fn want_opt<T: serde::de::DeserializeOwned>(
    obj: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> Result<Option<T>, ory_iam::Error> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        // `bool` is an `int` in Python: refuse it where a number is wanted (serde does that).
        Some(o) => serde_json::from_value(from_py(o, name)?)
            .map(Some)
            .map_err(|_| ory_iam::Error::invalid_field(name, "has the wrong type or is out of range")),
    }
}

/// For arguments that must be a str.
pub fn want_str(obj: &Bound<'_, PyAny>, name: &str) -> Result<String, ory_iam::Error> {
    obj.cast::<PyString>()
        .ok()
        .and_then(|s| s.to_str().ok().map(str::to_owned))
        .ok_or_else(|| ory_iam::Error::invalid_field(name, "must be a str"))
}
