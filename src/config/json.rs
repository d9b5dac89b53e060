//! Reading a config from JSON: `config.json` as a run writes it (one object
//! per group) or any part of it, also flat (`{"tau_ms": 2}`). Missing options
//! keep the notebook's values; unknown ones are refused by name.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{options, Config, Group, OptionDef};

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let mut cfg = Config::default();
        cfg.apply_json(value).map_err(serde::de::Error::custom)?;
        Ok(cfg)
    }
}

impl Config {
    /// Sets every option that `json` gives, leaving the others as they are.
    /// Shorthands (`tau_ms`) apply first, so the options they stand for can
    /// be given beside them and win.
    pub fn apply_json(&mut self, json: Value) -> Result<(), String> {
        let Value::Object(entries) = json else {
            return Err("a config must be a JSON object".to_string());
        };
        let mut settings = Vec::new();
        for (key, value) in entries {
            match Group::ALL.iter().find(|g| g.key() == key) {
                Some(&group) => {
                    let Value::Object(inner) = value else {
                        return Err(format!("`{key}` must be a JSON object of options"));
                    };
                    for (key, value) in inner {
                        settings.push(setting(Some(group), &key, value)?);
                    }
                }
                None => settings.push(setting(None, &key, value)?),
            }
        }
        // An option given twice (flat and in its group, or by two of its
        // spellings) would keep one of the values silently.
        for (i, (def, _)) in settings.iter().enumerate() {
            if settings[..i]
                .iter()
                .any(|(earlier, _)| earlier.name == def.name)
            {
                return Err(format!(
                    "`{}` is given twice; give each option once, flat or in its group",
                    def.name
                ));
            }
        }
        settings.sort_by_key(|(def, _)| def.sets.is_empty());
        for (_, setting) in settings {
            setting.apply(self);
        }
        Ok(())
    }
}

fn setting(
    group: Option<Group>,
    key: &str,
    value: Value,
) -> Result<(&'static OptionDef, super::Setting), String> {
    let def = find(group, key)?;
    let setting = def
        .from_json(value)
        .map_err(|e| format!("`{}`: {e}", def.name))?;
    Ok((def, setting))
}

fn find(group: Option<Group>, key: &str) -> Result<&'static OptionDef, String> {
    let in_scope = |def: &&OptionDef| group.map_or(true, |g| def.group == g);
    if let Some(def) = options().iter().filter(in_scope).find(|d| d.key == key) {
        return Ok(def);
    }
    let expected: Vec<&str> = options().iter().filter(in_scope).map(|d| d.key).collect();
    let place = match group {
        Some(g) => format!(" in `{}`", g.key()),
        None => String::new(),
    };
    Err(format!(
        "unknown field `{key}`{place}, expected one of {}{}",
        expected.join(", "),
        match group {
            Some(_) => String::new(),
            None => format!(" or a group ({})", group_keys().join(", ")),
        }
    ))
}

fn group_keys() -> Vec<&'static str> {
    Group::ALL.iter().map(|g| g.key()).collect()
}

/// Where a stored JSON document first differs from `wanted` as it would be
/// stored: `wanted` goes through text, as the stored file went, so that
/// floats compare alike.
pub fn stored_difference(
    stored: &Value,
    wanted: &impl serde::Serialize,
) -> serde_json::Result<Option<String>> {
    let wanted = serde_json::from_str(&serde_json::to_string(wanted)?)?;
    Ok(first_difference(stored, &wanted))
}

/// Where two JSON documents first differ, as `path: a vs b` (a missing key
/// reads as null), for errors that say what changed between two configs or sweeps.
pub fn first_difference(a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    difference_at(a, b, "")
}

fn difference_at(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    if a == b {
        return None;
    }
    if let (Value::Object(x), Value::Object(y)) = (a, b) {
        return x.keys().chain(y.keys()).find_map(|key| {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let (u, v) = (x.get(key), y.get(key));
            difference_at(u.unwrap_or(&Value::Null), v.unwrap_or(&Value::Null), &path)
        });
    }
    Some(format!("{path}: {a} vs {b}"))
}
